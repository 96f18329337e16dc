import assert from "node:assert/strict";
import type { StatusRecord, Store } from "../repos/index.js";
import { assertMatches } from "./assertions.js";
import { eachStoreWithDevice, type MakeStore, nextId, seedDevice, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** The StatusRepository contract every store implementation must meet. */
export function describeStatusRepositoryContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: StatusRepository`, () => {
    let store: Store;
    let device: string;
    eachStoreWithDevice(harness, makeStore, (s, d) => {
      store = s;
      device = d;
    });

    const report = (
      ts: number,
      data: Record<string, unknown> = { cpu: { load: ts - T0 } },
      deviceId = device,
    ) => ({ deviceId, ts, receivedAt: ts + 1, data }) satisfies StatusRecord;
    const tsOf = (records: StatusRecord[]) => records.map((r) => r.ts);

    it("writes a batch and reads latest and history", async () => {
      const data = {
        cpu: { load: [0.5, 0.25] },
        memory: { total: 8e9 },
        disks: [{ mount: "/", used: 1 }],
        extra: null,
      };
      await store.status.insertBatch([report(T0 + 1), report(T0 + 3, data), report(T0 + 2)]);
      assert.deepStrictEqual(await store.status.latest(device), {
        deviceId: device,
        ts: T0 + 3,
        receivedAt: T0 + 4,
        data,
      });
      assert.deepEqual(tsOf(await store.status.history(device)), [T0 + 3, T0 + 2, T0 + 1]);
      assert.deepEqual(tsOf(await store.status.history(device, { order: "asc" })), [T0 + 1, T0 + 2, T0 + 3]);
      assert.equal(await store.status.latest(nextId()), undefined);
      assert.equal(await store.status.latest("x"), undefined);
      assert.deepEqual(await store.status.history(nextId()), []);
      await store.status.insertBatch([]);
    });

    it("keeps the greatest ts as latest, even when an older report arrives later", async () => {
      await store.status.insertBatch([report(T0 + 20, { v: "new" })]);
      await store.status.insertBatch([report(T0 + 10, { v: "outbox" })]);
      assertMatches(await store.status.latest(device), { ts: T0 + 20, data: { v: "new" } });
      assert.deepEqual(tsOf(await store.status.history(device)), [T0 + 20, T0 + 10]);
      await store.status.insertBatch([report(T0 + 30, { v: "newest" }), report(T0 + 25, { v: "older" })]);
      assertMatches(await store.status.latest(device), { ts: T0 + 30, data: { v: "newest" } });
    });

    it("keeps one row per (device, ts): a replayed report is stored once", async () => {
      await store.status.insertBatch([report(T0 + 1, { v: 1 }), report(T0 + 1, { v: 2 })]);
      await store.status.insertBatch([report(T0 + 1, { v: 3 })]);
      assert.deepStrictEqual(await store.status.history(device), [report(T0 + 1, { v: 1 })]);
      assertMatches(await store.status.latest(device), { data: { v: 1 } });
    });

    it("drops reports of unknown devices without failing the batch", async () => {
      const other = await seedDevice(store);
      await store.status.insertBatch([
        report(T0 + 1),
        report(T0 + 2, {}, nextId()),
        report(T0 + 3, {}, other),
      ]);
      assert.deepEqual(tsOf(await store.status.history(device)), [T0 + 1]);
      assert.deepEqual(tsOf(await store.status.history(other)), [T0 + 3]);
    });

    it("reads history in an inclusive [from, to] window with a limit", async () => {
      await store.status.insertBatch(Array.from({ length: 10 }, (_, i) => report(T0 + i)));
      assert.deepEqual(tsOf(await store.status.history(device, { from: T0 + 2, to: T0 + 5, order: "asc" })), [
        T0 + 2,
        T0 + 3,
        T0 + 4,
        T0 + 5,
      ]);
      assert.deepEqual(tsOf(await store.status.history(device, { from: T0 + 7 })), [T0 + 9, T0 + 8, T0 + 7]);
      assert.deepEqual(tsOf(await store.status.history(device, { to: T0 + 1 })), [T0 + 1, T0]);
      assert.deepEqual(tsOf(await store.status.history(device, { limit: 2 })), [T0 + 9, T0 + 8]);
      assert.deepEqual(tsOf(await store.status.history(device, { limit: 2, order: "asc" })), [T0, T0 + 1]);
      assert.deepEqual(tsOf(await store.status.history(device, { limit: 0 })), [T0 + 9]);
    });

    it("defaults history to 1000 rows and clamps the limit at 10000", async () => {
      await store.status.insertBatch(Array.from({ length: 10_001 }, (_, i) => report(T0 + i, { i })));
      assert.equal((await store.status.history(device)).length, 1000);
      const all = await store.status.history(device, { limit: 50_000, order: "asc" });
      assert.equal(all.length, 10_000);
      assert.deepStrictEqual(all[0], report(T0, { i: 0 }));
      assertMatches(await store.status.latest(device), { ts: T0 + 10_000 });
    });

    it("prunes by age and by rows per device, keeping the newest, and counts deletions", async () => {
      const other = await seedDevice(store);
      await store.status.insertBatch([
        ...Array.from({ length: 6 }, (_, i) => report(T0 + i * 1000)),
        ...Array.from({ length: 3 }, (_, i) => report(T0 + i * 1000, {}, other)),
      ]);
      // Older than now - maxAgeMs goes: T0 and T0+1000 of each device.
      assert.equal(await store.status.prune({ now: T0 + 4000, maxAgeMs: 2500 }), 4);
      assert.deepEqual(tsOf(await store.status.history(device, { order: "asc" })), [
        T0 + 2000,
        T0 + 3000,
        T0 + 4000,
        T0 + 5000,
      ]);
      assert.equal(await store.status.prune({ now: T0 + 4000, maxRowsPerDevice: 2 }), 2);
      assert.deepEqual(tsOf(await store.status.history(device, { order: "asc" })), [T0 + 4000, T0 + 5000]);
      assert.deepEqual(tsOf(await store.status.history(other)), [T0 + 2000]);
      assert.equal(await store.status.prune({ now: T0 + 100_000, maxAgeMs: 97_500, maxRowsPerDevice: 1 }), 2);
      assert.deepEqual(tsOf(await store.status.history(device)), [T0 + 5000]);
      assert.deepEqual(tsOf(await store.status.history(other)), []);
      assert.equal(await store.status.prune({ now: T0 }), 0);
      // Latest is not history: it stays until the device goes.
      assertMatches(await store.status.latest(other), { ts: T0 + 2000 });
    });

    it("prunes by bytes per device (data as JSON text, UTF-8), newest kept, one device or all", async () => {
      const other = await seedDevice(store);
      // {"s":"…"} is 8 bytes of JSON around the string; "é" is 2 bytes in UTF-8.
      const sized = (ts: number, bytes: number, deviceId = device) =>
        report(ts, { s: "é".repeat((bytes - 8) / 2) }, deviceId);
      await store.status.insertBatch([
        ...[0, 1, 2, 3].map((i) => sized(T0 + i, 100)),
        ...[0, 1, 2].map((i) => sized(T0 + i, 100, other)),
      ]);
      // Only `other`: its newest 200 bytes stay.
      assert.equal(await store.status.prune({ now: T0, maxBytesPerDevice: 250, deviceId: other }), 1);
      assert.deepEqual(tsOf(await store.status.history(other)), [T0 + 2, T0 + 1]);
      assert.equal((await store.status.history(device)).length, 4);
      assert.equal(await store.status.prune({ now: T0, maxBytesPerDevice: 300 }), 1);
      assert.deepEqual(tsOf(await store.status.history(device)), [T0 + 3, T0 + 2, T0 + 1]);
      assert.equal(await store.status.prune({ now: T0, maxBytesPerDevice: 300 }), 0);
      assert.equal(await store.status.prune({ now: T0, maxBytesPerDevice: 99, deviceId: nextId() }), 0);
      assert.equal(await store.status.prune({ now: T0, maxBytesPerDevice: 99, deviceId: "x" }), 0);
      assert.equal(await store.status.prune({ now: T0 + 2, maxAgeMs: 0, deviceId: device }), 1);
      assert.deepEqual(tsOf(await store.status.history(device)), [T0 + 3, T0 + 2]);
      assert.deepEqual(tsOf(await store.status.history(other)), [T0 + 2, T0 + 1]);
    });
  });
}
