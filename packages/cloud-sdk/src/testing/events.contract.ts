import assert from "node:assert/strict";
import { ValidationError } from "../errors.js";
import type { DeviceEvent, Store } from "../repos/index.js";
import { eachStoreWithDevice, expectCloudError, type MakeStore, nextId, seedDevice, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** The EventLogRepository contract every store implementation must meet. */
export function describeEventLogRepositoryContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: EventLogRepository`, () => {
    let store: Store;
    let device: string;
    eachStoreWithDevice(harness, makeStore, (s, d) => {
      store = s;
      device = d;
    });

    const event = (
      ts: number,
      kind: DeviceEvent["kind"],
      overrides: Partial<DeviceEvent> = {},
    ): DeviceEvent => ({
      id: nextId(),
      deviceId: device,
      ts,
      kind,
      reason: null,
      data: null,
      ...overrides,
    });

    it("appends a batch and lists it newest first", async () => {
      const events = [
        event(T0, "registered"),
        event(T0 + 1, "connected", { reason: "connected", data: { address: "10.0.0.2", agent: { v: "1" } } }),
        event(T0 + 2, "disconnected", { reason: "heartbeat_timeout" }),
      ];
      await store.events.append(events);
      await store.events.append([]);
      assert.deepStrictEqual((await store.events.list(device)).items, [...events].reverse());
      assert.deepEqual((await store.events.list(nextId())).items, []);
    });

    it("filters by kinds and an inclusive time window, and pages", async () => {
      const kinds = ["connected", "command", "disconnected", "command", "state", "auth_failed"] as const;
      const events = kinds.map((kind, i) => event(T0 + i, kind));
      await store.events.append(events);
      const ids = (list: DeviceEvent[]) => list.map((e) => e.id);
      const reversed = [...events].reverse();

      assert.deepEqual(ids((await store.events.list(device, { kinds: ["command"] })).items), [
        events[3]?.id,
        events[1]?.id,
      ]);
      assert.deepEqual(ids((await store.events.list(device, { kinds: ["connected", "state"] })).items), [
        events[4]?.id,
        events[0]?.id,
      ]);
      assert.deepEqual(
        ids((await store.events.list(device, { from: T0 + 2, to: T0 + 4 })).items),
        ids(reversed.slice(1, 4)),
      );
      const first = await store.events.list(device, { limit: 4 });
      assert.deepEqual(ids(first.items), ids(reversed.slice(0, 4)));
      const rest = await store.events.list(device, { limit: 4, after: first.nextCursor });
      assert.deepEqual(ids(rest.items), ids(reversed.slice(4)));
      assert.equal(rest.nextCursor, undefined);
      await expectCloudError(
        store.events.list(device, { after: "zz" }),
        ValidationError,
        "validation_failed",
      );
    });

    it("keeps the first of a re-appended id and drops events of unknown devices", async () => {
      const first = event(T0, "state", { reason: "first" });
      await store.events.append([first, event(T0 + 1, "state", { deviceId: nextId() })]);
      await store.events.append([{ ...first, reason: "second" }]);
      assert.deepStrictEqual((await store.events.list(device)).items, [first]);
    });

    it("appends a batch of any size, keeping the first of an id repeated within it", async () => {
      const events = Array.from({ length: 1200 }, (_, i) => event(T0 + i, "state", { reason: `r${i}` }));
      const [first] = events;
      if (first === undefined) throw new Error("no events");
      await store.events.append([
        ...events,
        event(T0, "state", { deviceId: nextId() }),
        { ...first, reason: "repeated" },
      ]);
      const page = await store.events.list(device, { limit: 1000 });
      const rest = await store.events.list(device, { limit: 1000, after: page.nextCursor });
      assert.deepStrictEqual([...page.items, ...rest.items], [...events].reverse());
    });

    it("prunes events older than a time and counts them", async () => {
      const other = await seedDevice(store);
      await store.events.append([
        event(T0 - 2, "connected"),
        event(T0 - 1, "connected", { deviceId: other }),
        event(T0, "disconnected"),
      ]);
      assert.equal(await store.events.prune(T0), 2);
      assert.deepEqual(
        (await store.events.list(device)).items.map((e) => e.ts),
        [T0],
      );
      assert.deepEqual((await store.events.list(other)).items, []);
      assert.equal(await store.events.prune(T0), 0);
    });
  });
}
