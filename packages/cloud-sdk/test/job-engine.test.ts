import { describe, expect, it } from "vitest";
import type { CloudEvent } from "../src/index.js";
import { brokerClouds } from "./support/broker-clouds.js";
import { distinctCommands, fleet, LONG_HEARTBEAT, settled, untilJob } from "./support/job-fleet.js";
import { settle } from "./support/manual-clock.js";

const clouds = brokerClouds();

describe("job engine: one execution per device, as commands", () => {
  it("runs a job over every target to COMPLETED, one command per device, with live counts and events", async () => {
    const { cloud, store } = await clouds.make();
    const devices = await fleet(cloud, 10, undefined, (i) => ({ site: i < 6 ? "berlin" : "paris" }));
    const events: CloudEvent[] = [];
    cloud.events.on("event", (e) => events.push(e));
    const group = await cloud.groups.create({ name: "canary" });
    await cloud.groups.addDevice(group.id, devices[9]!.id);
    const created = await cloud.jobs.create({
      method: "collector.restart",
      params: { graceful: true },
      targets: { selector: "site=berlin", deviceIds: [devices[0]!.id, devices[7]!.id], groupIds: [group.id] },
    });
    expect(created).toMatchObject({ status: "IN_PROGRESS", total: null, name: "collector.restart" });
    const done = await untilJob(cloud, created.id, (j) => j.status === "COMPLETED", "COMPLETED");
    // berlin = d0..d5, plus d7 and the group's d9; d0 named twice is one execution.
    expect(done).toMatchObject({ total: 8, finishedAt: expect.any(Number) });
    expect(done.counts).toMatchObject({ SUCCEEDED: 8, PENDING: 0, FAILED: 0 });
    expect(distinctCommands(devices)).toEqual([1, 1, 1, 1, 1, 1, 0, 1, 0, 1]);
    const executions = await cloud.jobs.executions(created.id, { status: ["SUCCEEDED"] });
    expect(executions.items).toHaveLength(8);
    for (const e of executions.items) {
      const command = await cloud.broker.get(e.commandId!);
      expect(command).toMatchObject({
        deviceId: e.deviceId,
        method: "collector.restart",
        status: "SUCCEEDED",
      });
    }
    expect((await cloud.jobs.deviceJobs(devices[0]!.id)).items).toMatchObject([{ jobId: created.id }]);
    const jobEvents = events.filter((e) => e.type === "job");
    expect(jobEvents.at(-1)).toMatchObject({
      type: "job",
      job: { status: "COMPLETED" },
      counts: { SUCCEEDED: 8 },
    });
    const executionEvents = events.filter((e) => e.type === "job.execution");
    expect(new Set(executionEvents.map((e) => e.deviceId)).size).toBe(8);
    expect(executionEvents.filter((e) => e.execution.status === "SUCCEEDED")).toHaveLength(8);
    expect((await store.jobs.countExecutions(created.id)).SUCCEEDED).toBe(8);
  });

  it("keeps at most maxInFlight executions in flight", async () => {
    const { cloud } = await clouds.make();
    const devices = await fleet(cloud, 6, () => "silent");
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: devices.map((d) => d.id) },
      rollout: { maxInFlight: 2 },
      executionTimeoutMs: 10_000,
    });
    await settle(10);
    expect((await cloud.jobs.get(job.id)).counts).toMatchObject({ PENDING: 4, SENT: 2 });
    expect(distinctCommands(devices)).toEqual([1, 1, 0, 0, 0, 0]);
    // The device answers one: exactly one more goes out.
    const first = devices[0]!;
    first.conn.sendPdu({ type: "result", id: first.commands[0]!, ok: true, data: null });
    await settle(10);
    expect(distinctCommands(devices)).toEqual([1, 1, 1, 0, 0, 0]);
    expect((await settled(cloud, job.id)).counts).toMatchObject({ PENDING: 3, SENT: 2, SUCCEEDED: 1 });
  });

  it("marks a device disabled when its turn comes SKIPPED, without a command", async () => {
    const { cloud } = await clouds.make();
    const devices = await fleet(cloud, 3);
    await cloud.devices.update(devices[1]!.id, { disabled: true });
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: devices.map((d) => d.id) },
    });
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done.counts).toMatchObject({ SUCCEEDED: 2, SKIPPED: 1 });
    const skipped = (await cloud.jobs.executions(job.id, { status: ["SKIPPED"] })).items;
    expect(skipped).toMatchObject([
      { deviceId: devices[1]!.id, commandId: null, error: { code: "device_disabled" } },
    ]);
  });

  it("waits SCHEDULED until scheduledAt, then starts", async () => {
    const { cloud, clock } = await clouds.make(LONG_HEARTBEAT);
    const devices = await fleet(cloud, 2);
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: devices.map((d) => d.id) },
      scheduledAt: clock.now() + 60_000,
    });
    expect(job).toMatchObject({ status: "SCHEDULED", startedAt: null });
    await clock.advance(59_999);
    expect((await cloud.jobs.get(job.id)).status).toBe("SCHEDULED");
    expect(distinctCommands(devices)).toEqual([0, 0]);
    await clock.advance(1);
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done).toMatchObject({ startedAt: clock.now(), counts: { SUCCEEDED: 2 } });
  });
});

describe("job engine: devices deleted mid-job", () => {
  it("a deleted device's execution goes with it, pending or in flight, and the job still completes", async () => {
    const { cloud, clock } = await clouds.make({ ...LONG_HEARTBEAT, jobs: { pollMs: 5_000 } });
    const devices = await fleet(cloud, 4, (i) => (i === 0 ? "silent" : "succeed"));
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: devices.map((d) => d.id) },
      rollout: { maxInFlight: 1 },
    });
    await settle(10);
    expect((await cloud.jobs.get(job.id)).counts).toMatchObject({ SENT: 1, PENDING: 3 });
    await cloud.devices.delete(devices[0]!.id); // in flight
    await cloud.devices.delete(devices[3]!.id); // pending
    await clock.advance(5_000);
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done.counts).toMatchObject({ SUCCEEDED: 2, SENT: 0, PENDING: 0 });
  });
});
