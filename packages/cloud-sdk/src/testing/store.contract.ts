import assert from "node:assert/strict";
import { ConflictError, StoreUnavailableError } from "../errors.js";
import { assertInstanceOf, assertMatches } from "./assertions.js";
import { expectCloudError, type MakeStore, nextId, rejection, seedDevice, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** The Store lifecycle contract: readiness, idempotent close, and what callers see afterwards. */
export function describeStoreLifecycleContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: Store lifecycle`, () => {
    it("answers ping while open", async () => {
      const store = await makeStore();
      assert.equal(await store.ping(), undefined);
      await store.close();
    });

    it("keeps concurrent calls apart, a failing transaction among them", async () => {
      const store = await makeStore();
      try {
        const ids: string[] = [];
        for (const serialNumber of ["S0", "S1", "S2", "S3"]) {
          ids.push(await seedDevice(store, { hardware: { serialNumber, model: "M", nics: [] } }));
        }
        const [first = "", second = ""] = ids;
        const group = nextId();
        await store.groups.create({ id: group, name: "g", createdAt: T0 });
        const [conflict] = await Promise.all([
          // Reads the row, then fails on the (serialNumber, model) index: its transaction rolls back.
          rejection(store.devices.update(second, { name: "lost", hardware: { serialNumber: "S0" } }, T0 + 1)),
          ...ids.map((id, i) => store.devices.update(id, { description: `d${i}` }, T0 + 2)),
          store.devices.setSecret(first, "rotated", T0 + 3),
          store.devices.touchLastSeen(ids.map((id) => ({ id, lastSeenAt: T0 + 4 }))),
          store.events.append(
            ids.map((id) => ({
              id: nextId(),
              deviceId: id,
              ts: T0,
              kind: "connected",
              reason: null,
              data: null,
            })),
          ),
          store.status.insertBatch(ids.map((id) => ({ deviceId: id, ts: T0, receivedAt: T0, data: {} }))),
          ...ids.map((id) => store.groups.addDevice(group, id)),
          store.state.setDesired(first, { a: 1 }, 1, 0, T0),
        ]);
        assertInstanceOf(conflict, ConflictError);
        for (const [i, id] of ids.entries()) {
          assertMatches(await store.devices.get(id), {
            name: "gateway",
            description: `d${i}`,
            hardware: { serialNumber: `S${i}` },
            lastSeenAt: T0 + 4,
          });
          assert.equal((await store.events.list(id)).items.length, 1);
          assertMatches(await store.status.latest(id), { ts: T0 });
        }
        assert.deepEqual((await store.groups.listDeviceIds(group)).items, ids);
        assertMatches(await store.devices.getCredentials(first), {
          secretHash: "rotated",
          generation: 2,
        });
        assertMatches(await store.state.get(first), { desired: { a: 1 }, desiredVersion: 1 });
      } finally {
        await store.close();
      }
    });

    it("closes idempotently; afterwards every call rejects with store_unavailable (503, no driver text)", async () => {
      const store = await makeStore();
      await store.close();
      await store.close();
      const err = await rejection(store.ping());
      assertInstanceOf(err, StoreUnavailableError);
      assertMatches(err, {
        code: "store_unavailable",
        status: 503,
        message: "the database is unavailable",
      });
      await expectCloudError(store.devices.list(), StoreUnavailableError, "store_unavailable");
      await expectCloudError(store.commands.listNonTerminal(), StoreUnavailableError, "store_unavailable");
      await expectCloudError(
        store.status.insertBatch([{ deviceId: nextId(), ts: 1, receivedAt: 1, data: {} }]),
        StoreUnavailableError,
        "store_unavailable",
      );
      await expectCloudError(store.tokens.findByHash("h"), StoreUnavailableError, "store_unavailable");
    });
  });
}
