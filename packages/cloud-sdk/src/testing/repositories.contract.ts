import { describeCommandRepositoryContract } from "./commands.contract.js";
import { describeDeviceRepositoryContract } from "./devices.contract.js";
import { describeEventLogRepositoryContract } from "./events.contract.js";
import type { MakeStore } from "./fixtures.js";
import { describeGroupRepositoryContract } from "./groups.contract.js";
import type { TestHarness } from "./harness.js";
import { describeJobRepositoryContract } from "./jobs.contract.js";
import { describeStateRepositoryContract } from "./state.contract.js";
import { describeStatusRepositoryContract } from "./status.contract.js";
import { describeStoreLifecycleContract } from "./store.contract.js";
import { describeTokenRepositoryContract } from "./tokens.contract.js";

/** Every repository contract plus the store lifecycle, against one implementation. */
export function describeStoreContract(harness: TestHarness, name: string, makeStore: MakeStore): void {
  describeDeviceRepositoryContract(harness, name, makeStore);
  describeGroupRepositoryContract(harness, name, makeStore);
  describeCommandRepositoryContract(harness, name, makeStore);
  describeStatusRepositoryContract(harness, name, makeStore);
  describeStateRepositoryContract(harness, name, makeStore);
  describeEventLogRepositoryContract(harness, name, makeStore);
  describeTokenRepositoryContract(harness, name, makeStore);
  describeJobRepositoryContract(harness, name, makeStore);
  describeStoreLifecycleContract(harness, name, makeStore);
}
