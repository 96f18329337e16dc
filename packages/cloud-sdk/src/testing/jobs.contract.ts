import assert from "node:assert/strict";
import { ConflictError } from "../errors.js";
import { emptyCounts, type Job } from "../jobs/job-types.js";
import type { Store } from "../repos/index.js";
import { eachStore, expectCloudError, type MakeStore, nextId, seedDevice, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** A job as JobService would create it; override what the test cares about. */
export function newJob(overrides: Partial<Job> = {}): Job {
  return {
    id: nextId(),
    name: "restart collector",
    method: "collector.restart",
    params: { graceful: true },
    targets: { deviceIds: [], groupIds: [], selector: "site=berlin" },
    targetSelection: "snapshot",
    rollout: { maxPerMinute: 60, maxInFlight: 10, exponential: null },
    waves: [{ percent: 10, successThreshold: 90, soakMs: 60_000 }],
    abort: [{ on: "FAILED", thresholdPercent: 20, minExecuted: 10 }],
    executionTimeoutMs: 30_000,
    ttlMs: 3_600_000,
    scheduledAt: null,
    status: "IN_PROGRESS",
    reason: null,
    total: null,
    wave: 0,
    soakUntil: null,
    createdAt: T0,
    updatedAt: T0,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

/** The JobRepository contract every store implementation must meet. */
export function describeJobRepositoryContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: JobRepository`, () => {
    let store: Store;
    let devices: string[];
    eachStore(harness, makeStore, async (s) => {
      store = s;
      devices = [];
      for (let i = 0; i < 5; i++) devices.push(await seedDevice(s, { name: `d${i}` }));
    });

    it("creates and reads a job back exactly; a reused id is a conflict", async () => {
      const job = newJob({ reason: { type: "operator", action: "pause" }, scheduledAt: T0 + 5 });
      await store.jobs.create(job);
      assert.deepStrictEqual(await store.jobs.get(job.id), job);
      assert.equal(await store.jobs.get(nextId()), undefined);
      assert.equal(await store.jobs.get("not-an-id"), undefined);
      await expectCloudError(store.jobs.create(job), ConflictError, "conflict");
    });

    it("lists newest first, pages, filters by status; listUnfinished is oldest first", async () => {
      const a = newJob({ status: "COMPLETED" });
      const b = newJob({ status: "PAUSED" });
      const c = newJob({ status: "SCHEDULED" });
      for (const j of [a, b, c]) await store.jobs.create(j);
      const first = await store.jobs.list({ limit: 2 });
      assert.deepStrictEqual(
        first.items.map((j) => j.id),
        [c.id, b.id],
      );
      const second = await store.jobs.list({ limit: 2, after: first.nextCursor as string });
      assert.deepStrictEqual(
        second.items.map((j) => j.id),
        [a.id],
      );
      assert.equal(second.nextCursor, undefined);
      const done = await store.jobs.list({ status: ["COMPLETED", "ABORTED"] });
      assert.deepStrictEqual(
        done.items.map((j) => j.id),
        [a.id],
      );
      assert.deepStrictEqual(
        (await store.jobs.listUnfinished()).map((j) => j.id),
        [b.id, c.id],
      );
    });

    it("updates with a compare-and-set on the status", async () => {
      const job = newJob();
      await store.jobs.create(job);
      const reason = { type: "wave_threshold" as const, wave: 1, size: 10, succeeded: 3, needed: 9 };
      const paused = await store.jobs.update(job.id, "IN_PROGRESS", {
        status: "PAUSED",
        reason,
        total: 100_000,
        wave: 1,
        soakUntil: T0 + 9,
        startedAt: T0 + 1,
        updatedAt: T0 + 2,
      });
      const expected = {
        ...job,
        status: "PAUSED",
        reason,
        total: 100_000,
        wave: 1,
        soakUntil: T0 + 9,
        startedAt: T0 + 1,
        updatedAt: T0 + 2,
      };
      assert.deepStrictEqual(paused, expected);
      assert.deepStrictEqual(await store.jobs.get(job.id), expected);
      assert.equal(
        await store.jobs.update(job.id, "IN_PROGRESS", { status: "CANCELED", updatedAt: T0 + 3 }),
        undefined,
      );
      const cleared = await store.jobs.update(job.id, "PAUSED", {
        status: "IN_PROGRESS",
        reason: null,
        soakUntil: null,
        updatedAt: T0 + 4,
      });
      assert.deepStrictEqual(cleared, {
        ...expected,
        status: "IN_PROGRESS",
        reason: null,
        soakUntil: null,
        updatedAt: T0 + 4,
      });
      assert.equal(await store.jobs.update(nextId(), "IN_PROGRESS", { updatedAt: T0 }), undefined);
    });

    it("adds each device at most once; unknown devices are left out", async () => {
      const job = newJob();
      await store.jobs.create(job);
      const [d0, d1, d2] = devices as [string, string, string];
      await store.jobs.addExecutions(job.id, [d0, d1, nextId()], T0);
      assert.deepStrictEqual(await store.jobs.countExecutions(job.id), { ...emptyCounts(), PENDING: 2 });
      // Again, overlapping: only d2 is new (a restart re-resolving targets adds nothing twice).
      await store.jobs.addExecutions(job.id, [d1, d0, d2], T0 + 1);
      await store.jobs.addExecutions(job.id, [], T0);
      assert.deepStrictEqual(await store.jobs.getExecution(job.id, d0), {
        jobId: job.id,
        deviceId: d0,
        status: "PENDING",
        commandId: null,
        wave: null,
        error: null,
        createdAt: T0,
        updatedAt: T0,
      });
      assert.equal(await store.jobs.getExecution(job.id, devices[4] as string), undefined);
      assert.deepStrictEqual(await store.jobs.countExecutions(job.id), { ...emptyCounts(), PENDING: 3 });
    });

    it("pages executions by device id, filtered by status", async () => {
      const job = newJob();
      await store.jobs.create(job);
      await store.jobs.addExecutions(job.id, [...devices].reverse(), T0);
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await store.jobs.listExecutions(job.id, { limit: 2, ...(after ? { after } : {}) });
        seen.push(...page.items.map((e) => e.deviceId));
        after = page.nextCursor;
      } while (after);
      assert.deepStrictEqual(seen, devices);
      const [d0, , d2] = devices as [string, string, string];
      await store.jobs.transitionExecution(job.id, d2, "PENDING", { status: "QUEUED", updatedAt: T0 + 1 });
      await store.jobs.transitionExecution(job.id, d0, "PENDING", { status: "SKIPPED", updatedAt: T0 + 1 });
      const queued = await store.jobs.listExecutions(job.id, { status: ["QUEUED", "SKIPPED"] });
      assert.deepStrictEqual(
        queued.items.map((e) => [e.deviceId, e.status]),
        [
          [d0, "SKIPPED"],
          [d2, "QUEUED"],
        ],
      );
      assert.deepStrictEqual((await store.jobs.listExecutions(nextId())).items, []);
    });

    it("moves an execution with a compare-and-set, keeping big command ids exact", async () => {
      const job = newJob();
      await store.jobs.create(job);
      const d0 = devices[0] as string;
      await store.jobs.addExecutions(job.id, [d0], T0);
      const commandId = nextId();
      const queued = await store.jobs.transitionExecution(job.id, d0, "PENDING", {
        status: "QUEUED",
        commandId,
        wave: 2,
        updatedAt: T0 + 1,
      });
      assert.deepStrictEqual(queued, {
        jobId: job.id,
        deviceId: d0,
        status: "QUEUED",
        commandId,
        wave: 2,
        error: null,
        createdAt: T0,
        updatedAt: T0 + 1,
      });
      // A second dispatcher racing for the same execution loses: the device gets it once.
      assert.equal(
        await store.jobs.transitionExecution(job.id, d0, "PENDING", {
          status: "QUEUED",
          commandId: nextId(),
          updatedAt: T0 + 2,
        }),
        undefined,
      );
      const error = { code: "executor_error", message: "boom", details: { exit: 3 } };
      const failed = await store.jobs.transitionExecution(job.id, d0, "QUEUED", {
        status: "FAILED",
        error,
        updatedAt: T0 + 3,
      });
      assert.deepStrictEqual(failed, { ...queued, status: "FAILED", error, updatedAt: T0 + 3 });
      assert.deepStrictEqual(await store.jobs.getExecution(job.id, d0), failed);
      assert.equal(
        await store.jobs.transitionExecution(job.id, nextId(), "PENDING", { updatedAt: T0 }),
        undefined,
      );
    });

    it("cancels executions by status and counts per status, whole job or one wave", async () => {
      const job = newJob();
      await store.jobs.create(job);
      await store.jobs.addExecutions(job.id, devices, T0);
      const [d0, d1, d2] = devices as [string, string, string];
      await store.jobs.transitionExecution(job.id, d0, "PENDING", {
        status: "SUCCEEDED",
        wave: 0,
        updatedAt: T0,
      });
      await store.jobs.transitionExecution(job.id, d1, "PENDING", { status: "SENT", wave: 0, updatedAt: T0 });
      await store.jobs.transitionExecution(job.id, d2, "PENDING", {
        status: "FAILED",
        wave: 1,
        updatedAt: T0,
      });
      assert.deepStrictEqual(await store.jobs.countExecutions(job.id, 0), {
        ...emptyCounts(),
        SUCCEEDED: 1,
        SENT: 1,
      });
      assert.deepStrictEqual(await store.jobs.countExecutions(job.id, 1), { ...emptyCounts(), FAILED: 1 });
      assert.equal(await store.jobs.cancelExecutions(job.id, ["PENDING"], T0 + 5), 2);
      assert.deepStrictEqual(await store.jobs.countExecutions(job.id), {
        ...emptyCounts(),
        SUCCEEDED: 1,
        SENT: 1,
        FAILED: 1,
        CANCELED: 2,
      });
      assert.equal((await store.jobs.getExecution(job.id, devices[4] as string))?.updatedAt, T0 + 5);
      assert.equal(await store.jobs.cancelExecutions(job.id, ["PENDING"], T0 + 6), 0);
    });

    it("lists a device's executions newest job first; deleting the device removes them", async () => {
      const a = newJob();
      const b = newJob();
      await store.jobs.create(a);
      await store.jobs.create(b);
      const d0 = devices[0] as string;
      await store.jobs.addExecutions(a.id, [d0], T0);
      await store.jobs.addExecutions(b.id, [d0, devices[1] as string], T0);
      const first = await store.jobs.listByDevice(d0, { limit: 1 });
      assert.deepStrictEqual(
        first.items.map((e) => e.jobId),
        [b.id],
      );
      const rest = await store.jobs.listByDevice(d0, { after: first.nextCursor as string });
      assert.deepStrictEqual(
        rest.items.map((e) => e.jobId),
        [a.id],
      );
      assert.equal(await store.devices.delete(d0), true);
      assert.deepStrictEqual((await store.jobs.listByDevice(d0)).items, []);
      assert.deepStrictEqual(await store.jobs.countExecutions(b.id), { ...emptyCounts(), PENDING: 1 });
    });
  });
}
