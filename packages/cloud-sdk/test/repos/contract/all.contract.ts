import { describeCommandRepositoryContract } from "./commands.contract.js";
import { describeDeviceRepositoryContract } from "./devices.contract.js";
import { describeEventLogRepositoryContract } from "./events.contract.js";
import type { MakeStore } from "./fixtures.js";
import { describeGroupRepositoryContract } from "./groups.contract.js";
import { describeStateRepositoryContract } from "./state.contract.js";
import { describeStatusRepositoryContract } from "./status.contract.js";
import { describeStoreLifecycleContract } from "./store.contract.js";
import { describeTokenRepositoryContract } from "./tokens.contract.js";

/** Every repository contract plus the store lifecycle, against one implementation. */
export function describeStoreContract(name: string, makeStore: MakeStore): void {
  describeDeviceRepositoryContract(name, makeStore);
  describeGroupRepositoryContract(name, makeStore);
  describeCommandRepositoryContract(name, makeStore);
  describeStatusRepositoryContract(name, makeStore);
  describeStateRepositoryContract(name, makeStore);
  describeEventLogRepositoryContract(name, makeStore);
  describeTokenRepositoryContract(name, makeStore);
  describeStoreLifecycleContract(name, makeStore);
}
