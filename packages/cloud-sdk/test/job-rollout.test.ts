import { describe, expect, it } from "vitest";
import { brokerClouds } from "./support/broker-clouds.js";
import { type Answer, distinctCommands, fleet, LONG_HEARTBEAT, untilJob } from "./support/job-fleet.js";
import { settle } from "./support/manual-clock.js";

const clouds = brokerClouds();

/** When each device got its first command, relative to `t0` (undefined: never). */
function dispatchTimes(sent: Map<string, number>, ids: string[], t0: number): Array<number | undefined> {
  return ids.map((id) => (sent.has(id) ? (sent.get(id) as number) - t0 : undefined));
}

async function rolloutFleet(n: number, answer: (i: number) => Answer = () => "succeed") {
  const made = await clouds.make(LONG_HEARTBEAT);
  const sent = new Map<string, number>();
  const devices = await fleet(made.cloud, n, (i, cmd) => {
    if (!sent.has(devices[i]?.id ?? "")) sent.set(devices[i]?.id as string, made.clock.now());
    void cmd;
    return answer(i);
  });
  return { ...made, devices, ids: devices.map((d) => d.id), sent };
}

describe("job rollout: rate", () => {
  it("maxPerMinute spaces dispatches evenly: exactly 6 in the first minute, the 7th at 60 s", async () => {
    const { cloud, clock, ids, sent } = await rolloutFleet(10);
    const t0 = clock.now();
    await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      rollout: { maxPerMinute: 6 },
    });
    await settle(10);
    expect(sent.size).toBe(1);
    await clock.advance(59_999);
    expect(sent.size).toBe(6);
    await clock.advance(1);
    expect(sent.size).toBe(7);
    expect(dispatchTimes(sent, ids, t0).slice(0, 7)).toEqual([
      0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000,
    ]);
  });

  it("exponential: the rate doubles every afterSucceeded successes", async () => {
    const { cloud, clock, ids, sent } = await rolloutFleet(8);
    const t0 = clock.now();
    await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      rollout: { exponential: { baseRatePerMinute: 6, incrementFactor: 2, afterSucceeded: 2 } },
    });
    await settle(10);
    await clock.advance(40_000);
    // 6/min (10 s) until 2 succeeded, 12/min (5 s) until 4, 24/min (2.5 s), then 48/min.
    expect(dispatchTimes(sent, ids, t0)).toEqual([0, 10_000, 20_000, 25_000, 30_000, 32_500, 35_000, 36_250]);
  });
});

describe("job rollout: waves", () => {
  it("starts a wave only after the one before reached its threshold and soaked; the last takes the rest", async () => {
    const { cloud, clock, ids, sent } = await rolloutFleet(10);
    const t0 = clock.now();
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      waves: [
        { count: 2, successThreshold: 100, soakMs: 60_000 },
        { percent: 30, successThreshold: 50, soakMs: 0 },
        { percent: 50, successThreshold: 100, soakMs: 0 },
      ],
    });
    await settle(10);
    expect(await cloud.jobs.get(job.id)).toMatchObject({
      wave: 0,
      soakUntil: t0 + 60_000,
      counts: { SUCCEEDED: 2 },
    });
    await clock.advance(59_999);
    expect(sent.size).toBe(2);
    await clock.advance(1);
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done).toMatchObject({ wave: 2, total: 10, counts: { SUCCEEDED: 10 } });
    const waves = (await cloud.jobs.executions(job.id)).items.map((e) => e.wave);
    expect(waves).toEqual([0, 0, 1, 1, 1, 2, 2, 2, 2, 2]);
    expect(dispatchTimes(sent, ids, t0)).toEqual([0, 0, ...Array(8).fill(60_000)]);
  });

  it("a wave exactly at its threshold goes on", async () => {
    const { cloud, ids } = await rolloutFleet(6, (i) => (i < 2 ? { fail: "executor_error" } : "succeed"));
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      waves: [
        { count: 4, successThreshold: 50, soakMs: 0 },
        { percent: 100, successThreshold: 100, soakMs: 0 },
      ],
    });
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done.counts).toMatchObject({ SUCCEEDED: 4, FAILED: 2 });
  });

  it("a wave that cannot reach its threshold pauses the job with that reason; resume goes on with the next wave", async () => {
    const { cloud, ids, devices } = await rolloutFleet(6, (i) =>
      i < 3 ? { fail: "executor_error" } : "succeed",
    );
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      waves: [
        { count: 4, successThreshold: 50, soakMs: 0 },
        { percent: 100, successThreshold: 100, soakMs: 0 },
      ],
    });
    const paused = await untilJob(
      cloud,
      job.id,
      (j) => j.status === "PAUSED" && j.counts.QUEUED + j.counts.SENT === 0,
    );
    expect(paused.reason).toMatchObject({ type: "wave_threshold", wave: 0, size: 4, needed: 2 });
    expect(distinctCommands(devices)).toEqual([1, 1, 1, 1, 0, 0]);
    await cloud.jobs.resume(job.id);
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done).toMatchObject({ wave: 1, reason: null, counts: { SUCCEEDED: 3, FAILED: 3 } });
  });
});

describe("job operator actions", () => {
  it("pause stops dispatching (in-flight goes on), resume dispatches again", async () => {
    const { cloud, devices, ids } = await rolloutFleet(4, () => "silent");
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      rollout: { maxInFlight: 1 },
    });
    await settle(10);
    expect(await cloud.jobs.pause(job.id)).toMatchObject({
      status: "PAUSED",
      reason: { type: "operator", action: "pause" },
    });
    expect((await cloud.jobs.pause(job.id)).status).toBe("PAUSED");
    devices[0]!.conn.sendPdu({ type: "result", id: devices[0]!.commands[0]!, ok: true, data: null });
    await settle(10);
    expect((await cloud.jobs.get(job.id)).counts).toMatchObject({ SUCCEEDED: 1, PENDING: 3 });
    expect(distinctCommands(devices)).toEqual([1, 0, 0, 0]);
    expect(await cloud.jobs.resume(job.id)).toMatchObject({ status: "IN_PROGRESS", reason: null });
    await settle(10);
    expect(distinctCommands(devices)).toEqual([1, 1, 0, 0]);
  });

  it("cancel cancels what is pending and queued; sent executions finish; then every action is 409 job_finished", async () => {
    const { cloud, devices, ids } = await rolloutFleet(4, () => "silent");
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      rollout: { maxInFlight: 2 },
    });
    await settle(10);
    const canceled = await cloud.jobs.cancel(job.id);
    expect(canceled).toMatchObject({ status: "CANCELED", reason: { type: "operator", action: "cancel" } });
    expect(canceled.counts).toMatchObject({ CANCELED: 2, SENT: 2 });
    devices[0]!.conn.sendPdu({ type: "result", id: devices[0]!.commands[0]!, ok: true, data: null });
    await settle(10);
    expect((await cloud.jobs.get(job.id)).counts).toMatchObject({ CANCELED: 2, SENT: 1, SUCCEEDED: 1 });
    for (const action of [
      () => cloud.jobs.cancel(job.id),
      () => cloud.jobs.pause(job.id),
      () => cloud.jobs.resume(job.id),
    ])
      await expect(action()).rejects.toMatchObject({ code: "job_finished", status: 409 });
    await expect(cloud.jobs.get("1")).rejects.toMatchObject({ code: "job_not_found", status: 404 });
  });

  it("cancel with force also cancels sent executions: a late result is ignored", async () => {
    const { cloud, devices, ids } = await rolloutFleet(3, () => "silent");
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      rollout: { maxInFlight: 2 },
    });
    await settle(10);
    await expect(cloud.jobs.resume(job.id)).rejects.toMatchObject({ code: "job_not_paused", status: 409 });
    const canceled = await cloud.jobs.cancel(job.id, { force: true });
    expect(canceled.reason).toEqual({ type: "operator", action: "cancel", force: true });
    expect(canceled.counts).toMatchObject({ CANCELED: 3, SENT: 0 });
    devices[0]!.conn.sendPdu({ type: "result", id: devices[0]!.commands[0]!, ok: true, data: null });
    await settle(10);
    expect((await cloud.jobs.get(job.id)).counts).toMatchObject({ CANCELED: 3, SUCCEEDED: 0 });
  });

  it("a device offline waits QUEUED until ttlMs, then EXPIRED", async () => {
    const { cloud, clock, devices, ids } = await rolloutFleet(2);
    devices[1]!.conn.hangUp();
    await settle(10);
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: ids },
      ttlMs: 120_000,
    });
    await settle(10);
    expect((await cloud.jobs.get(job.id)).counts).toMatchObject({ SUCCEEDED: 1, QUEUED: 1 });
    await clock.advance(121_000);
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done.counts).toMatchObject({ SUCCEEDED: 1, EXPIRED: 1 });
  });
});
