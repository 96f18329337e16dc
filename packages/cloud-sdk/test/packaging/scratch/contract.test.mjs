// The published contract suite under node:test (not vitest) against the packed memory store:
// the kit is importable from the tarball and runs in another runner.
import { afterEach, beforeEach, describe, it } from "node:test";
import { createMemoryStore } from "@cloudedge/cloud-sdk";
import { describeStoreContract } from "@cloudedge/cloud-sdk/testing";

describeStoreContract({ describe, it, beforeEach, afterEach }, "packed memory", async () =>
  createMemoryStore(),
);
