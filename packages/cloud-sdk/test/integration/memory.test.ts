import { createMemoryStore } from "../../src/index.js";
import { describeHubIntegration } from "./hub-integration.js";

describeHubIntegration("memory store", async () => createMemoryStore());
