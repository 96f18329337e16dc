import { createMemoryStore } from "../../src/repos/index.js";
import { describeStoreContract } from "./contract/all.contract.js";

describeStoreContract("memory", async () => createMemoryStore());
