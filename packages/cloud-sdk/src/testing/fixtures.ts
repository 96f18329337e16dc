import type { NewDevice, Store } from "../repos/index.js";
import { assertInstanceOf, assertMatches } from "./assertions.js";
import type { TestHarness } from "./harness.js";

/** Shared by the repository contract suites: fixed times, Snowflake-sized ids, seeded devices. */

/** A factory the contract suites call once per test: a fresh (or freshly emptied) store. */
export type MakeStore = () => Promise<Store>;

/** A fixed clock origin; tests pass times explicitly, as the repositories expect. */
export const T0 = 1_700_000_000_000;

/** Above 2^53: any id that went through a double would come back changed. */
export const BIG_ID = "1189273498234982401";

let counter = 0n;

/** A fresh Snowflake-sized id (> 2^53), ascending across calls. */
export function nextId(): string {
  counter += 1n;
  return (BigInt(BIG_ID) + counter * 4_194_304n).toString();
}

export const SECRET_HASH = "$2b$10$abcdefghijklmnopqrstuuGFD0QXbk3yZ9UyqUq0s1bq6o3aNf8mS";

/** A registration with sensible defaults; override what the test cares about. */
export function newDevice(overrides: Partial<NewDevice> = {}): NewDevice {
  return { id: nextId(), name: "gateway", secretHash: SECRET_HASH, createdAt: T0, ...overrides };
}

/** Creates a plain device and returns its id. */
export async function seedDevice(store: Store, overrides: Partial<NewDevice> = {}): Promise<string> {
  return (await store.devices.create(newDevice(overrides))).id;
}

/** Per test: a fresh store, handed to `use` (which may seed it), and closed afterwards. */
export function eachStore(
  harness: TestHarness,
  makeStore: MakeStore,
  use: (store: Store) => void | Promise<void>,
): void {
  let store: Store | undefined;
  harness.beforeEach(async () => {
    store = await makeStore();
    await use(store);
  });
  harness.afterEach(async () => {
    await store?.close();
  });
}

/** Per test: a fresh store with one seeded device, handed to `use`, and closed afterwards. */
export function eachStoreWithDevice(
  harness: TestHarness,
  makeStore: MakeStore,
  use: (store: Store, device: string) => void,
): void {
  eachStore(harness, makeStore, async (store) => use(store, await seedDevice(store)));
}

/** Awaits a promise that must reject and returns what it rejected with. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

/** Asserts a rejection with a CloudError of this class and stable code. */
export async function expectCloudError(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => Error,
  code: string,
): Promise<void> {
  const err = await rejection(promise);
  assertInstanceOf(err, type);
  assertMatches(err, { code });
}
