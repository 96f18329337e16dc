import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../../src/errors.js";
import { expectCloudError, type MakeStore, nextId, rejection } from "./fixtures.js";

/** The Store lifecycle contract: readiness, idempotent close, and what callers see afterwards. */
export function describeStoreLifecycleContract(name: string, makeStore: MakeStore): void {
  describe(`${name}: Store lifecycle`, () => {
    it("answers ping while open", async () => {
      const store = await makeStore();
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
    });

    it("closes idempotently; afterwards every call rejects with store_unavailable (503, no driver text)", async () => {
      const store = await makeStore();
      await store.close();
      await store.close();
      const err = await rejection(store.ping());
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(err).toMatchObject({
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
