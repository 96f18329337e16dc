import { describe, expect, it } from "vitest";
import type { StatusRecord, Store } from "../../../src/repos/index.js";
import { eachStoreWithDevice, type MakeStore, nextId, seedDevice, T0 } from "./fixtures.js";

/** The StatusRepository contract every store implementation must meet. */
export function describeStatusRepositoryContract(name: string, makeStore: MakeStore): void {
  describe(`${name}: StatusRepository`, () => {
    let store: Store;
    let device: string;
    eachStoreWithDevice(makeStore, (s, d) => {
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
      expect(await store.status.latest(device)).toStrictEqual({
        deviceId: device,
        ts: T0 + 3,
        receivedAt: T0 + 4,
        data,
      });
      expect(tsOf(await store.status.history(device))).toEqual([T0 + 3, T0 + 2, T0 + 1]);
      expect(tsOf(await store.status.history(device, { order: "asc" }))).toEqual([T0 + 1, T0 + 2, T0 + 3]);
      expect(await store.status.latest(nextId())).toBeUndefined();
      expect(await store.status.latest("x")).toBeUndefined();
      expect(await store.status.history(nextId())).toEqual([]);
      await store.status.insertBatch([]);
    });

    it("keeps the greatest ts as latest, even when an older report arrives later", async () => {
      await store.status.insertBatch([report(T0 + 20, { v: "new" })]);
      await store.status.insertBatch([report(T0 + 10, { v: "outbox" })]);
      expect(await store.status.latest(device)).toMatchObject({ ts: T0 + 20, data: { v: "new" } });
      expect(tsOf(await store.status.history(device))).toEqual([T0 + 20, T0 + 10]);
      await store.status.insertBatch([report(T0 + 30, { v: "newest" }), report(T0 + 25, { v: "older" })]);
      expect(await store.status.latest(device)).toMatchObject({ ts: T0 + 30, data: { v: "newest" } });
    });

    it("keeps one row per (device, ts): a replayed report is stored once", async () => {
      await store.status.insertBatch([report(T0 + 1, { v: 1 }), report(T0 + 1, { v: 2 })]);
      await store.status.insertBatch([report(T0 + 1, { v: 3 })]);
      expect(await store.status.history(device)).toStrictEqual([report(T0 + 1, { v: 1 })]);
      expect(await store.status.latest(device)).toMatchObject({ data: { v: 1 } });
    });

    it("drops reports of unknown devices without failing the batch", async () => {
      const other = await seedDevice(store);
      await store.status.insertBatch([
        report(T0 + 1),
        report(T0 + 2, {}, nextId()),
        report(T0 + 3, {}, other),
      ]);
      expect(tsOf(await store.status.history(device))).toEqual([T0 + 1]);
      expect(tsOf(await store.status.history(other))).toEqual([T0 + 3]);
    });

    it("reads history in an inclusive [from, to] window with a limit", async () => {
      await store.status.insertBatch(Array.from({ length: 10 }, (_, i) => report(T0 + i)));
      expect(tsOf(await store.status.history(device, { from: T0 + 2, to: T0 + 5, order: "asc" }))).toEqual([
        T0 + 2,
        T0 + 3,
        T0 + 4,
        T0 + 5,
      ]);
      expect(tsOf(await store.status.history(device, { from: T0 + 7 }))).toEqual([T0 + 9, T0 + 8, T0 + 7]);
      expect(tsOf(await store.status.history(device, { to: T0 + 1 }))).toEqual([T0 + 1, T0]);
      expect(tsOf(await store.status.history(device, { limit: 2 }))).toEqual([T0 + 9, T0 + 8]);
      expect(tsOf(await store.status.history(device, { limit: 2, order: "asc" }))).toEqual([T0, T0 + 1]);
      expect(tsOf(await store.status.history(device, { limit: 0 }))).toEqual([T0 + 9]);
    });

    it("defaults history to 1000 rows and clamps the limit at 10000", async () => {
      await store.status.insertBatch(Array.from({ length: 10_001 }, (_, i) => report(T0 + i, { i })));
      expect(await store.status.history(device)).toHaveLength(1000);
      const all = await store.status.history(device, { limit: 50_000, order: "asc" });
      expect(all).toHaveLength(10_000);
      expect(all[0]).toStrictEqual(report(T0, { i: 0 }));
      expect(await store.status.latest(device)).toMatchObject({ ts: T0 + 10_000 });
    });

    it("prunes by age and by rows per device, keeping the newest, and counts deletions", async () => {
      const other = await seedDevice(store);
      await store.status.insertBatch([
        ...Array.from({ length: 6 }, (_, i) => report(T0 + i * 1000)),
        ...Array.from({ length: 3 }, (_, i) => report(T0 + i * 1000, {}, other)),
      ]);
      // Older than now - maxAgeMs goes: T0 and T0+1000 of each device.
      expect(await store.status.prune({ now: T0 + 4000, maxAgeMs: 2500 })).toBe(4);
      expect(tsOf(await store.status.history(device, { order: "asc" }))).toEqual([
        T0 + 2000,
        T0 + 3000,
        T0 + 4000,
        T0 + 5000,
      ]);
      expect(await store.status.prune({ now: T0 + 4000, maxRowsPerDevice: 2 })).toBe(2);
      expect(tsOf(await store.status.history(device, { order: "asc" }))).toEqual([T0 + 4000, T0 + 5000]);
      expect(tsOf(await store.status.history(other))).toEqual([T0 + 2000]);
      expect(await store.status.prune({ now: T0 + 100_000, maxAgeMs: 97_500, maxRowsPerDevice: 1 })).toBe(2);
      expect(tsOf(await store.status.history(device))).toEqual([T0 + 5000]);
      expect(tsOf(await store.status.history(other))).toEqual([]);
      expect(await store.status.prune({ now: T0 })).toBe(0);
      // Latest is not history: it stays until the device goes.
      expect(await store.status.latest(other)).toMatchObject({ ts: T0 + 2000 });
    });
  });
}
