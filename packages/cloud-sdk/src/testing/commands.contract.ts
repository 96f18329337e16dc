import assert from "node:assert/strict";
import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import type { CommandRecord, Store } from "../repos/index.js";
import { assertMatches } from "./assertions.js";
import { eachStoreWithDevice, expectCloudError, type MakeStore, nextId, seedDevice, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** The CommandRepository contract every store implementation must meet. */
export function describeCommandRepositoryContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: CommandRepository`, () => {
    let store: Store;
    let device: string;
    eachStoreWithDevice(harness, makeStore, (s, d) => {
      store = s;
      device = d;
    });

    const command = (overrides: Partial<CommandRecord> = {}): CommandRecord => ({
      id: nextId(),
      deviceId: device,
      method: "system.ping",
      params: { verbose: true },
      status: "QUEUED",
      result: null,
      error: null,
      timeoutMs: 10_000,
      expiresAt: T0 + 60_000,
      deadline: null,
      attempts: 0,
      acknowledgedAt: null,
      groupId: null,
      createdAt: T0,
      updatedAt: T0,
      ...overrides,
    });

    it("stores and reads back every field", async () => {
      const record = command({
        groupId: nextId(),
        deadline: T0 + 5,
        attempts: 2,
        acknowledgedAt: T0 + 3,
        status: "SENT",
        error: { code: "E", message: "m", details: { n: 1 } },
      });
      await store.commands.create(record);
      assert.deepStrictEqual(await store.commands.get(record.id), record);
      assert.equal(await store.commands.get(nextId()), undefined);
      assert.equal(await store.commands.get("x"), undefined);
    });

    it("round-trips any JSON value in params and result", async () => {
      const values: unknown[] = [
        null,
        "text",
        "",
        42,
        -1.5,
        true,
        false,
        [],
        [1, "a", null, { b: [2] }],
        {},
        { a: { b: { c: [1, 2, 3] } }, u: "ü€😀" },
      ];
      for (const value of values) {
        const record = command({ params: value, result: value });
        await store.commands.create(record);
        const read = await store.commands.get(record.id);
        assert.deepStrictEqual(read?.params, value);
        assert.deepStrictEqual(read?.result, value);
      }
      const missing = command({ params: undefined, result: undefined });
      await store.commands.create(missing);
      assertMatches(await store.commands.get(missing.id), { params: null, result: null });
    });

    it("refuses commands for unknown devices and reused ids", async () => {
      await expectCloudError(
        store.commands.create(command({ deviceId: nextId() })),
        NotFoundError,
        "device_not_found",
      );
      await expectCloudError(
        store.commands.create(command({ deviceId: "nope" })),
        NotFoundError,
        "device_not_found",
      );
      const record = command();
      await store.commands.create(record);
      await expectCloudError(store.commands.create(command({ id: record.id })), ConflictError, "conflict");
      await expectCloudError(
        store.commands.create(command({ id: "c-1" })),
        ValidationError,
        "validation_failed",
      );
    });

    it("transitions compare-and-set on the status, changing only what the patch names", async () => {
      const record = command();
      await store.commands.create(record);
      const sent = await store.commands.transition(record.id, "QUEUED", {
        status: "SENT",
        attempts: 1,
        deadline: T0 + 10_000,
        updatedAt: T0 + 1,
      });
      assert.deepStrictEqual(sent, {
        ...record,
        status: "SENT",
        attempts: 1,
        deadline: T0 + 10_000,
        updatedAt: T0 + 1,
      });
      assert.deepStrictEqual(await store.commands.get(record.id), sent);

      // Wrong expected status: nothing changes.
      assert.equal(
        await store.commands.transition(record.id, "QUEUED", { status: "CANCELED", updatedAt: T0 + 2 }),
        undefined,
      );
      assert.deepStrictEqual(await store.commands.get(record.id), sent);
      assert.equal(
        await store.commands.transition(nextId(), "QUEUED", { status: "SENT", updatedAt: T0 }),
        undefined,
      );

      await store.commands.transition(record.id, "SENT", { status: "DELIVERED", updatedAt: T0 + 3 });
      const done = await store.commands.transition(record.id, "DELIVERED", {
        status: "SUCCEEDED",
        result: ["ok", 1],
        updatedAt: T0 + 4,
      });
      assertMatches(done, {
        status: "SUCCEEDED",
        result: ["ok", 1],
        error: null,
        attempts: 1,
        updatedAt: T0 + 4,
      });
      const failed = command({ status: "SENT", error: null });
      await store.commands.create(failed);
      assertMatches(
        await store.commands.transition(failed.id, "SENT", {
          status: "FAILED",
          error: { code: "device_error", message: "boom" },
          updatedAt: T0 + 5,
        }),
        { status: "FAILED", error: { code: "device_error", message: "boom" } },
      );
    });

    it("with the record read as basis: answers basis + patch, and refuses a version that came back to the same status", async () => {
      const read = command({ params: { path: "/var/log", lines: [1, 2] } });
      await store.commands.create(read);
      const sent = await store.commands.transition(
        read.id,
        "QUEUED",
        { status: "SENT", attempts: 1, deadline: T0 + 9_000, updatedAt: T0 + 1 },
        read,
      );
      assert.deepStrictEqual(sent, {
        ...read,
        status: "SENT",
        attempts: 1,
        deadline: T0 + 9_000,
        updatedAt: T0 + 1,
      });
      assert.deepStrictEqual(await store.commands.get(read.id), sent);

      // The session drops and the command is requeued: QUEUED again, but not the version `read` saw.
      const requeued = await store.commands.transition(
        read.id,
        "SENT",
        { status: "QUEUED", updatedAt: T0 + 2 },
        sent as CommandRecord,
      );
      assertMatches(requeued, { status: "QUEUED", attempts: 1, updatedAt: T0 + 2 });
      // A patch computed from the stale read (attempts 0 + 1) must not land.
      assert.equal(
        await store.commands.transition(
          read.id,
          "QUEUED",
          { status: "SENT", attempts: 1, updatedAt: T0 + 3 },
          read,
        ),
        undefined,
      );
      assert.deepStrictEqual(await store.commands.get(read.id), requeued);
      // From the current version it does.
      const again = await store.commands.transition(
        read.id,
        "QUEUED",
        { status: "SENT", attempts: 2, updatedAt: T0 + 4 },
        requeued as CommandRecord,
      );
      assertMatches(again, { status: "SENT", attempts: 2, updatedAt: T0 + 4 });
      const done = await store.commands.transition(
        read.id,
        "SENT",
        { status: "SUCCEEDED", result: { lines: ["a", "b"], n: 2 }, updatedAt: T0 + 5 },
        again as CommandRecord,
      );
      assert.deepStrictEqual(done, await store.commands.get(read.id));
      assert.deepEqual(done?.result, { lines: ["a", "b"], n: 2 });
    });

    it("lets exactly one of two racing transitions win", async () => {
      for (let round = 0; round < 5; round++) {
        const record = command({ status: "SENT" });
        await store.commands.create(record);
        const [succeeded, timedOut] = await Promise.all([
          store.commands.transition(record.id, "SENT", {
            status: "SUCCEEDED",
            result: "r",
            updatedAt: T0 + 1,
          }),
          store.commands.transition(record.id, "SENT", { status: "TIMED_OUT", updatedAt: T0 + 2 }),
        ]);
        const winners = [succeeded, timedOut].filter((r) => r !== undefined);
        assert.equal(winners.length, 1);
        assert.equal((await store.commands.get(record.id))?.status, winners[0]?.status);
      }
    });

    it("lists a device's commands newest first, filtered by status, paged", async () => {
      const other = await seedDevice(store);
      const ids: string[] = [];
      for (const status of ["QUEUED", "SUCCEEDED", "FAILED", "QUEUED", "SENT"] as const) {
        const record = command({ status });
        ids.push(record.id);
        await store.commands.create(record);
      }
      await store.commands.create(command({ deviceId: other }));
      const newestFirst = [...ids].reverse();

      const first = await store.commands.listByDevice(device, { limit: 3 });
      assert.deepEqual(
        first.items.map((c) => c.id),
        newestFirst.slice(0, 3),
      );
      const rest = await store.commands.listByDevice(device, { limit: 3, after: first.nextCursor });
      assert.deepEqual(
        rest.items.map((c) => c.id),
        newestFirst.slice(3),
      );
      assert.equal(rest.nextCursor, undefined);

      const queued = await store.commands.listByDevice(device, { status: ["QUEUED"] });
      assert.deepEqual(
        queued.items.map((c) => c.id),
        [ids[3], ids[0]],
      );
      const finished = await store.commands.listByDevice(device, { status: ["SUCCEEDED", "FAILED"] });
      assert.deepEqual(
        finished.items.map((c) => c.id),
        [ids[2], ids[1]],
      );
      assert.equal((await store.commands.listByDevice(device, { status: [] })).items.length, 5);
      assert.deepEqual((await store.commands.listByDevice(nextId())).items, []);
    });

    it("lists queued commands of a device oldest first", async () => {
      const other = await seedDevice(store);
      const a = command();
      const b = command({ status: "SENT" });
      const c = command();
      for (const record of [a, b, c, command({ deviceId: other })]) await store.commands.create(record);
      assert.deepEqual(
        (await store.commands.listQueued(device)).map((r) => r.id),
        [a.id, c.id],
      );
      assert.deepEqual(await store.commands.listQueued(nextId()), []);
    });

    it("counts a device's non-terminal commands and the bytes of their params", async () => {
      const other = await seedDevice(store);
      const params = { s: "é".repeat(46) }; // 100 bytes of JSON
      for (const record of [
        command({ params }),
        command({ params, status: "SENT" }),
        command({ params, status: "DELIVERED" }),
        command({ params, status: "SUCCEEDED" }),
        command({ params, status: "EXPIRED" }),
        command({ params, deviceId: other }),
        command({ params: null }),
      ])
        await store.commands.create(record);
      assert.deepEqual(await store.commands.activeLoad(device), { count: 4, bytes: 304 });
      assert.deepEqual(await store.commands.activeLoad(other), { count: 1, bytes: 100 });
      assert.deepEqual(await store.commands.activeLoad(nextId()), { count: 0, bytes: 0 });
      assert.deepEqual(await store.commands.activeLoad("x"), { count: 0, bytes: 0 });
    });

    it("lists every non-terminal command oldest first", async () => {
      const other = await seedDevice(store);
      const records = [
        command({ status: "QUEUED" }),
        command({ status: "SUCCEEDED", deviceId: other }),
        command({ status: "SENT", deviceId: other }),
        command({ status: "EXPIRED" }),
        command({ status: "DELIVERED" }),
        command({ status: "CANCELED" }),
        command({ status: "TIMED_OUT" }),
        command({ status: "FAILED" }),
      ];
      for (const record of records) await store.commands.create(record);
      assert.deepEqual(
        (await store.commands.listNonTerminal()).map((r) => r.status),
        ["QUEUED", "SENT", "DELIVERED"],
      );
    });

    it("deletes finished commands last updated before a time", async () => {
      const oldDone = command({ status: "SUCCEEDED", updatedAt: T0 - 10 });
      const oldQueued = command({ status: "QUEUED", updatedAt: T0 - 10 });
      const newDone = command({ status: "FAILED", updatedAt: T0 + 10 });
      const oldExpired = command({ status: "EXPIRED", updatedAt: T0 - 1 });
      const atCutoff = command({ status: "CANCELED", updatedAt: T0 });
      for (const record of [oldDone, oldQueued, newDone, oldExpired, atCutoff])
        await store.commands.create(record);
      assert.equal(await store.commands.deleteFinishedBefore(T0), 2);
      assert.equal(await store.commands.get(oldDone.id), undefined);
      assert.equal(await store.commands.get(oldExpired.id), undefined);
      for (const kept of [oldQueued, newDone, atCutoff])
        assert.notEqual(await store.commands.get(kept.id), undefined);
    });
  });
}
