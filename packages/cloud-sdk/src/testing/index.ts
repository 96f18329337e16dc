/**
 * @cloudedge/cloud-sdk/testing — the published test kit, runner-agnostic as aedes-persistence's
 * abstract suite is: every suite takes a TestHarness (the runner's describe / it / beforeEach /
 * afterEach) first and asserts with `node:assert/strict`. A third-party backend runs the same
 * contract our memory, SQLite and MySQL stores run:
 *
 *   import { describe, it, beforeEach, afterEach } from "vitest";
 *   describeStoreContract({ describe, it, beforeEach, afterEach }, "mine", () => openMyStore());
 */
export { assertInstanceOf, assertMatches } from "./assertions.js";
export {
  type ClusterBusCluster,
  type ClusterBusImplementation,
  describeClusterBusContract,
} from "./cluster-bus.contract.js";
export { describeCommandRepositoryContract } from "./commands.contract.js";
export { describeDeviceRepositoryContract } from "./devices.contract.js";
export { describeEventLogRepositoryContract } from "./events.contract.js";
export {
  BIG_ID,
  eachStore,
  eachStoreWithDevice,
  expectCloudError,
  type MakeStore,
  newDevice,
  nextId,
  rejection,
  SECRET_HASH,
  seedDevice,
  T0,
} from "./fixtures.js";
export { describeGroupRepositoryContract } from "./groups.contract.js";
export type { TestHarness } from "./harness.js";
export { describeJobRepositoryContract, newJob } from "./jobs.contract.js";
export { describeStoreContract } from "./repositories.contract.js";
export { describeSqlDbContract, type MakeSqlDb } from "./sql-db.contract.js";
export { describeStateRepositoryContract } from "./state.contract.js";
export { describeStatusRepositoryContract } from "./status.contract.js";
export { describeStoreLifecycleContract } from "./store.contract.js";
export { createTeardown, type Teardown, type TeardownOptions } from "./teardown.js";
export { describeTokenRepositoryContract } from "./tokens.contract.js";
