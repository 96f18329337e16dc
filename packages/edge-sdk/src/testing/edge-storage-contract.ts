import assert from "node:assert/strict";
import type { JsonValue, ResultPdu, StatusPdu } from "@cloudedge/protocol";
import { ClientStore, type PersistedParts } from "../client-store.js";
import { Credentials } from "../credentials.js";
import { DedupeTable } from "../dedupe-table.js";
import { Outbox } from "../outbox.js";
import { DesiredState, ReportedState } from "../state-sync.js";
import { type EdgeStorage, SaveQueue } from "../storage.js";
import type { TestHarness } from "./harness.js";

/** How the suite gets at the storage under test. */
export interface EdgeStorageHooks<S extends EdgeStorage = EdgeStorage> {
  /** A fresh, empty storage for one test. */
  open(): S | Promise<S>;
  /**
   * A new instance over the same data, as after a restart of the device software. Default:
   * the same instance (a storage that lives in memory survives reconnects, not restarts).
   */
  reopen?(storage: S): S | Promise<S>;
  /** Releases what `open` made (a directory, a connection); runs after each test. */
  close?(storage: S): void | Promise<void>;
}

/** The keys EdgeClient uses (ClientStore), all of which a storage must accept. */
const CLIENT_KEYS = ["token", "deviceId", "desired", "reported", "dedupe", "outbox"] as const;

const status = (n: number): StatusPdu => ({ type: "status", ts: 1_000 + n, data: { n } });

const result = (id: string): ResultPdu => ({ type: "result", id, ok: true, data: { id }, ts: 5 });

function parts(outboxMax = 1_000): PersistedParts {
  return {
    token: new Credentials(undefined),
    desired: new DesiredState(),
    reported: new ReportedState(),
    dedupe: new DedupeTable(),
    outbox: new Outbox(outboxMax),
  };
}

/**
 * What EdgeStorage promises (src/storage.ts) and what the client relies on through it:
 * JSON values round-trip unaliased per key, remove forgets, and — given `reopen` — the
 * client's persisted parts (token, state documents, dedupe table, a full outbox) survive a
 * restart. Runner-agnostic: pass your runner's describe/it/beforeEach/afterEach.
 */
export function edgeStorageContract<S extends EdgeStorage>(
  harness: TestHarness,
  name: string,
  hooks: EdgeStorageHooks<S>,
): void {
  const { describe, it, beforeEach, afterEach } = harness;
  const reopen = (storage: S) => (hooks.reopen ? hooks.reopen(storage) : storage);

  describe(`EdgeStorage contract: ${name}`, () => {
    let storage: S;
    /** Background write failures of the ClientStores a test made; none is allowed. */
    let failures: unknown[];
    const clientStore = (on: EdgeStorage, into: PersistedParts) =>
      new ClientStore(on, into, (error) => failures.push(error));
    beforeEach(async () => {
      failures = [];
      storage = await hooks.open();
    });
    afterEach(async () => {
      await hooks.close?.(storage);
      assert.deepEqual(failures, []);
    });

    it("a key never saved loads as undefined, and removing it is no error", async () => {
      assert.equal(await storage.load("token"), undefined);
      await storage.remove("token");
      assert.equal(await storage.load("token"), undefined);
    });

    it("round-trips every kind of JSON value under the client's keys", async () => {
      const values: JsonValue[] = [
        { token: "t-1", expiresAt: 1_700_000_000_000 },
        "device-42",
        { version: 3, document: { nested: { list: [1, "two", null, true, { deep: 0.5 }] } } },
        [{ id: "c1", state: "done" }],
        { entries: [], dropped: 0 },
        'ünïcødé ✓ \u0000 \n "quoted"',
      ];
      for (const [i, key] of CLIENT_KEYS.entries()) await storage.save(key, values[i] as JsonValue);
      for (const [i, key] of CLIENT_KEYS.entries()) {
        assert.deepEqual(await storage.load(key), values[i], key);
      }
    });

    it("keeps scalars as they are: numbers, booleans, null, empty containers", async () => {
      const scalars: Array<[string, JsonValue]> = [
        ["n", 0],
        ["neg", -12.25],
        ["yes", true],
        ["no", false],
        ["nothing", null],
        ["empty", ""],
        ["obj", {}],
        ["arr", []],
      ];
      await Promise.all(scalars.map(([key, value]) => storage.save(key, value)));
      for (const [key, value] of scalars) assert.deepEqual(await storage.load(key), value, key);
    });

    it("a save replaces the previous value; keys are independent", async () => {
      await storage.save("desired", { version: 1 });
      await storage.save("reported", { version: 7 });
      await storage.save("desired", { version: 2, document: { a: 1 } });
      assert.deepEqual(await storage.load("desired"), { version: 2, document: { a: 1 } });
      assert.deepEqual(await storage.load("reported"), { version: 7 });
    });

    it("remove forgets one key and leaves the others", async () => {
      await storage.save("token", { token: "t", expiresAt: 1 });
      await storage.save("deviceId", "d-1");
      await storage.remove("token");
      assert.equal(await storage.load("token"), undefined);
      assert.equal(await storage.load("deviceId"), "d-1");
    });

    it("never aliases: mutating a saved or loaded value changes nothing stored", async () => {
      const value = { list: [1, 2], inner: { x: 1 } };
      await storage.save("dedupe", value);
      value.list.push(3);
      value.inner.x = 2;
      const loaded = (await storage.load("dedupe")) as typeof value;
      assert.deepEqual(loaded, { list: [1, 2], inner: { x: 1 } });
      loaded.list.push(4);
      assert.deepEqual(await storage.load("dedupe"), { list: [1, 2], inner: { x: 1 } });
    });

    it("a burst of writes through SaveQueue leaves the newest value", async () => {
      const queue = new SaveQueue(storage);
      const writes = Array.from({ length: 20 }, (_, n) => queue.save("outbox", () => ({ n })));
      await Promise.all(writes);
      await queue.idle();
      assert.deepEqual(await storage.load("outbox"), { n: 19 });
      await queue.save("outbox", () => undefined); // undefined removes
      assert.equal(await storage.load("outbox"), undefined);
    });

    it("saved values survive a reopen; removed ones stay removed", async () => {
      await storage.save("token", { token: "t-2", expiresAt: 99 });
      await storage.save("deviceId", "d-2");
      await storage.remove("deviceId");
      const again = await reopen(storage);
      assert.deepEqual(await again.load("token"), { token: "t-2", expiresAt: 99 });
      assert.equal(await again.load("deviceId"), undefined);
    });

    it("the client's parts survive a reopen: token, state documents, device id", async () => {
      const before = parts();
      const store = clientStore(storage, before);
      before.token.accept({ token: "resume-1", tokenExpiresAt: 10_000_000 });
      before.desired.applyWelcome({ version: 4, patch: { fan: "auto" }, full: true });
      before.reported.change({ temp: 21.5 }, 1_000);
      await Promise.all([store.save("token"), store.save("desired"), store.save("reported")]);
      store.saveDeviceId("d-3");
      await store.idle();

      const after = parts();
      const loaded = await clientStore(await reopen(storage), after).load();
      assert.deepEqual(loaded, { deviceId: "d-3", interrupted: [] });
      assert.deepEqual(after.token.forHello(0), { token: "resume-1" });
      assert.equal(after.desired.version, 4);
      assert.deepEqual(after.desired.document, { fan: "auto" });
      assert.equal(after.reported.version, before.reported.version);
      assert.deepEqual(after.reported.document, { temp: 21.5 });
    });

    it("a full outbox survives a reopen in order, with its drop count and bound", async () => {
      const before = parts(50);
      for (let n = 0; n < 60; n += 1) before.outbox.push(n % 2 ? status(n) : result(`r${n}`));
      await clientStore(storage, before).save("outbox");

      const after = parts(50);
      await clientStore(await reopen(storage), after).load();
      assert.equal(after.outbox.size, 50);
      assert.equal(after.outbox.dropped, 10);
      assert.deepEqual(after.outbox.shift(), result("r10"));
      assert.deepEqual(after.outbox.shift(), status(11));
      // Reloaded under a smaller bound, the oldest go and are counted.
      const smaller = parts(20);
      await clientStore(await reopen(storage), smaller).load();
      assert.equal(smaller.outbox.size, 20);
      assert.equal(smaller.outbox.dropped, 40);
      assert.deepEqual(smaller.outbox.peek(), result("r40"));
    });

    it("the dedupe table survives a reopen; a command cut off mid-run comes back as running", async () => {
      const before = parts();
      before.dedupe.begin({ id: "done-1", method: "m", receivedAt: 1, deadline: 100 });
      before.dedupe.finish("done-1", result("done-1"));
      before.dedupe.begin({ id: "running-1", method: "m", receivedAt: 2, deadline: 100, timeoutMs: 50 });
      await clientStore(storage, before).save("dedupe");

      const after = parts();
      const { interrupted } = await clientStore(await reopen(storage), after).load();
      // Handed back for the command runner to resume (its executor may know how it ended).
      assert.deepEqual(interrupted, [
        { id: "running-1", method: "m", state: "running", receivedAt: 2, deadline: 100, timeoutMs: 50 },
      ]);
      assert.deepEqual(after.dedupe.get("done-1")?.result, result("done-1"));
      assert.equal(after.dedupe.get("running-1")?.state, "running");
    });

    it("holds a thousand-entry dedupe table and outbox (the default bounds)", async () => {
      const before = parts();
      for (let n = 0; n < 1_000; n += 1) {
        before.dedupe.begin({ id: `c${n}`, method: "m", receivedAt: n, deadline: n + 1 });
        before.dedupe.finish(`c${n}`, result(`c${n}`));
        before.outbox.push(status(n));
      }
      const store = clientStore(storage, before);
      await Promise.all([store.save("dedupe"), store.save("outbox")]);

      const after = parts();
      await clientStore(await reopen(storage), after).load();
      assert.equal(after.dedupe.size, 1_000);
      assert.equal(after.outbox.size, 1_000);
      assert.deepEqual(after.dedupe.get("c999")?.result, result("c999"));
    });
  });
}
