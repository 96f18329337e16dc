import { describe, expect, it } from "vitest";
import { type AbortRule, emptyCounts, trippedRule } from "../src/index.js";
import { brokerClouds } from "./support/broker-clouds.js";
import { type Answer, fleet, LONG_HEARTBEAT, untilJob } from "./support/job-fleet.js";
import { settle } from "./support/manual-clock.js";

const clouds = brokerClouds();

const counts = (c: Partial<ReturnType<typeof emptyCounts>>) => ({ ...emptyCounts(), ...c });

describe("abort rules at their boundaries", () => {
  const rule = (on: AbortRule["on"], thresholdPercent = 30, minExecuted = 10): AbortRule => ({
    on,
    thresholdPercent,
    minExecuted,
  });
  it.each([
    // [rule, counts, rejected, trips]
    [rule("FAILED"), { SUCCEEDED: 7, FAILED: 3 }, 0, true],
    [rule("FAILED"), { SUCCEEDED: 8, FAILED: 2 }, 0, false],
    [rule("FAILED"), { SUCCEEDED: 6, FAILED: 3 }, 0, false], // 9 executed < minExecuted
    [rule("FAILED"), { SUCCEEDED: 7, FAILED: 3, SKIPPED: 5, CANCELED: 5 }, 0, true], // neither counts as executed
    [rule("TIMED_OUT"), { SUCCEEDED: 7, TIMED_OUT: 3 }, 0, true],
    [rule("TIMED_OUT"), { SUCCEEDED: 7, FAILED: 3 }, 0, false],
    [rule("REJECTED"), { SUCCEEDED: 7, FAILED: 3 }, 3, true],
    [rule("REJECTED"), { SUCCEEDED: 7, FAILED: 3 }, 2, false],
    [rule("ANY"), { SUCCEEDED: 7, FAILED: 1, TIMED_OUT: 1, EXPIRED: 1 }, 0, true],
    [rule("ANY"), { SUCCEEDED: 8, FAILED: 1, TIMED_OUT: 1 }, 0, false],
    [rule("ANY", 0, 1), { SUCCEEDED: 5 }, 0, false], // 0 %: trips on the first failure, not before
    [rule("ANY", 0, 1), { SUCCEEDED: 5, FAILED: 1 }, 0, true],
    [rule("FAILED", 100, 1), { FAILED: 1 }, 0, true],
  ] as const)("%j over %j (rejected %i) trips: %s", (r, c, rejected, trips) => {
    expect(trippedRule([r], counts(c), rejected) !== undefined).toBe(trips);
  });

  it("reports the figures of the first rule that trips", () => {
    const rules = [rule("TIMED_OUT"), rule("FAILED", 25, 4)];
    expect(trippedRule(rules, counts({ SUCCEEDED: 2, FAILED: 1, TIMED_OUT: 0 }), 0)).toBeUndefined();
    expect(trippedRule(rules, counts({ SUCCEEDED: 3, FAILED: 1 }), 0)).toEqual({
      rule: rules[1],
      executed: 4,
      matched: 1,
      percent: 25,
    });
  });
});

describe("abort rules in the engine", () => {
  async function run(n: number, answer: (i: number) => Answer, abort: AbortRule[], timeoutMs = 30_000) {
    const made = await clouds.make(LONG_HEARTBEAT);
    const devices = await fleet(made.cloud, n, (i) => answer(i));
    const job = await made.cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: devices.map((d) => d.id) },
      rollout: { maxInFlight: 1 }, // one at a time: results arrive in device order
      abort,
      executionTimeoutMs: timeoutMs,
    });
    return { ...made, devices, job };
  }

  it("FAILED 30 % after 10: trips at the 10th execution with 3 failures; the rest is CANCELED", async () => {
    const { cloud, job, store } = await run(20, (i) => (i < 3 ? { fail: "executor_error" } : "succeed"), [
      { on: "FAILED", thresholdPercent: 30, minExecuted: 10 },
    ]);
    const aborted = await untilJob(cloud, job.id, (j) => j.status === "ABORTED");
    expect(aborted.reason).toEqual({
      type: "abort_rule",
      rule: { on: "FAILED", thresholdPercent: 30, minExecuted: 10 },
      executed: 10,
      matched: 3,
      percent: 30,
    });
    expect(aborted.counts).toMatchObject({ SUCCEEDED: 7, FAILED: 3, CANCELED: 10, PENDING: 0 });
    expect(aborted.finishedAt).not.toBeNull();
    expect((await store.jobs.listExecutions(job.id, { status: ["CANCELED"] })).items).toHaveLength(10);
  });

  it("FAILED 30 % after 10 with 2 failures in 10 does not trip: the job completes", async () => {
    const { cloud, job } = await run(12, (i) => (i < 2 ? { fail: "executor_error" } : "succeed"), [
      { on: "FAILED", thresholdPercent: 30, minExecuted: 10 },
    ]);
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done.counts).toMatchObject({ SUCCEEDED: 10, FAILED: 2 });
  });

  it("minExecuted holds the rule back: 3 failures of 3 do not trip at minExecuted 4, the 4th result does", async () => {
    const { cloud, job } = await run(8, (i) => (i < 3 ? { fail: "executor_error" } : "succeed"), [
      { on: "ANY", thresholdPercent: 50, minExecuted: 4 },
    ]);
    const aborted = await untilJob(cloud, job.id, (j) => j.status === "ABORTED");
    expect(aborted.reason).toMatchObject({ executed: 4, matched: 3, percent: 75 });
    expect(aborted.counts).toMatchObject({ SUCCEEDED: 1, FAILED: 3, CANCELED: 4 });
  });

  it("REJECTED counts refusals (method_not_found, invalid_params, exec_denied), not other failures", async () => {
    const answers: Answer[] = [
      { fail: "executor_error" },
      { fail: "executor_error" },
      { fail: "method_not_found" },
      { fail: "exec_denied" },
    ];
    const { cloud, job } = await run(6, (i) => answers[i] ?? "succeed", [
      { on: "REJECTED", thresholdPercent: 50, minExecuted: 2 },
    ]);
    const aborted = await untilJob(cloud, job.id, (j) => j.status === "ABORTED");
    // 1 of 3 at the third result (33 %), 2 of 4 at the fourth (50 %).
    expect(aborted.reason).toMatchObject({ executed: 4, matched: 2, percent: 50 });
  });

  it("TIMED_OUT counts executions whose device never answered in executionTimeoutMs", async () => {
    const { cloud, clock, job } = await run(
      4,
      (i) => (i === 0 ? "silent" : "succeed"),
      [{ on: "TIMED_OUT", thresholdPercent: 50, minExecuted: 2 }],
      5_000,
    );
    await settle(10);
    await clock.advance(7_000);
    const aborted = await untilJob(cloud, job.id, (j) => j.status === "ABORTED");
    expect(aborted.reason).toMatchObject({ executed: 2, matched: 1, percent: 50 });
    expect(aborted.counts).toMatchObject({ TIMED_OUT: 1, SUCCEEDED: 1, CANCELED: 2 });
  });
});
