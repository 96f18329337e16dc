import { createMemoryStore } from "@cloudedge/cloud-sdk";
import { describeStoreContract } from "@cloudedge/cloud-sdk/testing";
import { vitestHarness } from "../support/vitest-harness.js";

// The published suite from the built package, as a third-party backend would run it.
describeStoreContract(vitestHarness, "memory", async () => createMemoryStore());
