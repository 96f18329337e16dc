import assert from "node:assert/strict";
import { NotFoundError } from "../errors.js";
import type { Store } from "../repos/index.js";
import { assertMatches } from "./assertions.js";
import { eachStoreWithDevice, expectCloudError, type MakeStore, nextId, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** The StateRepository contract every store implementation must meet. */
export function describeStateRepositoryContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: StateRepository`, () => {
    let store: Store;
    let device: string;
    eachStoreWithDevice(harness, makeStore, (s, d) => {
      store = s;
      device = d;
    });

    it("has empty documents at version 0 before anything is stored", async () => {
      for (const id of [device, nextId(), "junk"]) {
        assert.deepStrictEqual(await store.state.get(id), {
          deviceId: id,
          desired: {},
          desiredVersion: 0,
          reported: {},
          reportedVersion: 0,
          updatedAt: 0,
        });
      }
    });

    it("keeps a __proto__ key as data in both documents, never as a prototype (#20.11)", async () => {
      const doc = JSON.parse('{"__proto__":{"polluted":true},"a":{"__proto__":1}}') as Record<string, never>;
      assert.equal(await store.state.setDesired(device, doc, 1, 0, T0 + 1), true);
      assert.equal(await store.state.setReported(device, doc, 1, 0, T0 + 2), true);
      const state = await store.state.get(device);
      for (const read of [state.desired, state.reported]) {
        assert.equal(Object.hasOwn(read, "__proto__"), true);
        assert.deepStrictEqual(Object.getOwnPropertyDescriptor(read, "__proto__")?.value, { polluted: true });
        assert.equal(Object.getPrototypeOf(read), Object.prototype);
      }
      assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    });

    it("writes desired and reported with compare-and-set on their own versions", async () => {
      const desired = {
        statusIntervalMs: 5000,
        logLevel: "debug",
        nested: { a: [1, null, "x"] },
        nothing: null,
      };
      assert.equal(await store.state.setDesired(device, desired, 1, 0, T0 + 1), true);
      assert.equal(await store.state.setDesired(device, { stale: true }, 2, 0, T0 + 2), false);
      assert.equal(await store.state.setReported(device, { logLevel: "debug" }, 7, 0, T0 + 3), true);
      assert.equal(await store.state.setReported(device, { x: 1 }, 8, 6, T0 + 4), false);
      assert.deepStrictEqual(await store.state.get(device), {
        deviceId: device,
        desired,
        desiredVersion: 1,
        reported: { logLevel: "debug" },
        reportedVersion: 7,
        updatedAt: T0 + 3,
      });
      assert.equal(await store.state.setDesired(device, { ü: "😀" }, 2, 1, T0 + 5), true);
      assertMatches(await store.state.get(device), {
        desired: { ü: "😀" },
        desiredVersion: 2,
        reportedVersion: 7,
      });
    });

    it("lets the first reported write create the row while desired stays at 0", async () => {
      assert.equal(await store.state.setReported(device, { a: 1 }, 1, 0, T0), true);
      assert.equal(await store.state.setDesired(device, { b: 2 }, 1, 0, T0 + 1), true);
      assertMatches(await store.state.get(device), { desiredVersion: 1, reportedVersion: 1 });
    });

    it("lets exactly one of two racing writers with the same expected version win", async () => {
      for (let round = 0; round < 5; round++) {
        const current = (await store.state.get(device)).desiredVersion;
        const results = await Promise.all([
          store.state.setDesired(device, { w: "a" }, current + 1, current, T0),
          store.state.setDesired(device, { w: "b" }, current + 1, current, T0),
        ]);
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await store.state.get(device)).desiredVersion, current + 1);
      }
    });

    it("refuses state for a device that does not exist", async () => {
      await expectCloudError(
        store.state.setDesired(nextId(), {}, 1, 0, T0),
        NotFoundError,
        "device_not_found",
      );
      await expectCloudError(
        store.state.setReported(nextId(), {}, 2, 1, T0),
        NotFoundError,
        "device_not_found",
      );
      await expectCloudError(store.state.setDesired("junk", {}, 1, 0, T0), NotFoundError, "device_not_found");
    });

    it("forgets the state on delete", async () => {
      await store.state.setDesired(device, { a: 1 }, 3, 0, T0);
      await store.state.delete(device);
      await store.state.delete(nextId());
      assertMatches(await store.state.get(device), { desired: {}, desiredVersion: 0 });
      assert.equal(await store.state.setDesired(device, { a: 2 }, 1, 0, T0 + 1), true);
    });
  });
}
