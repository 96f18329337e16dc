import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Cloud, Store } from "../src/index.js";
import { createSqliteStore } from "../src/repos/sqlite/sqlite-store.js";
import { newJob } from "../src/testing/jobs.contract.js";
import { brokerClouds } from "./support/broker-clouds.js";
import {
  connect,
  distinctCommands,
  type FleetDevice,
  fleet,
  LONG_HEARTBEAT,
  untilJob,
} from "./support/job-fleet.js";
import { ManualClock, settle } from "./support/manual-clock.js";

const clouds = brokerClouds();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A SQLite file a second store can reopen, as a restarted server would. */
async function sqliteFile(): Promise<{ open: () => Promise<Store> }> {
  const dir = mkdtempSync(join(tmpdir(), "cloudedge-jobs-"));
  dirs.push(dir);
  return { open: () => createSqliteStore({ path: join(dir, "cloudedge.db") }) };
}

/** Cloud A "dies": nothing of it runs any more (its clock never moves again), its store stays as written. */
function crash(cloud: Cloud): void {
  clouds.abandon(cloud);
  cloud.jobs.close();
  cloud.broker.close();
}

/** Cloud B on a reopened store, at the time A died; the devices reconnect to it and answer. */
async function restart(file: { open: () => Promise<Store> }, at: number, devices: FleetDevice[]) {
  const made = await clouds.make({ ...LONG_HEARTBEAT, clock: new ManualClock(at) }, await file.open());
  const again: FleetDevice[] = [];
  for (const d of devices)
    again.push(
      await connect(made.cloud, { id: d.id, secret: d.secret, commands: d.commands }, () => "succeed"),
    );
  return { ...made, devices: again };
}

describe("job durability across a restart", () => {
  it("a restarted cloud resumes a running job where it was: no execution lost, none sent twice", async () => {
    const file = await sqliteFile();
    const a = await clouds.make(LONG_HEARTBEAT, await file.open());
    // The first four answer; the rest take the command and never answer before the crash.
    const devices = await fleet(a.cloud, 10, (i) => (i < 4 ? "succeed" : "silent"));
    const job = await a.cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: devices.map((d) => d.id) },
      rollout: { maxInFlight: 3 },
      ttlMs: 3_600_000, // the restart leaves sent commands queued for redelivery, not failed offline
    });
    const before = await untilJob(a.cloud, job.id, (j) => j.counts.SUCCEEDED === 4 && j.counts.SENT === 3);
    expect(before.counts).toMatchObject({ PENDING: 3 });
    crash(a.cloud);

    const b = await restart(file, a.clock.now(), devices);
    const done = await untilJob(b.cloud, job.id, (j) => j.status === "COMPLETED", "COMPLETED after restart");
    expect(done).toMatchObject({ total: 10, counts: { SUCCEEDED: 10, PENDING: 0 } });
    // Redelivery repeats a command id (the edge dedupes); a second command would be a second id.
    expect(distinctCommands(b.devices)).toEqual(Array(10).fill(1));
    for (const d of devices) expect((await b.store.commands.listByDevice(d.id)).items).toHaveLength(1);
  });

  it("an execution claimed but never sent (cut off between the two) is sent after the restart with its recorded id", async () => {
    const file = await sqliteFile();
    const store = await file.open();
    const a = await clouds.make(LONG_HEARTBEAT, store);
    const [device] = await fleet(a.cloud, 1);
    crash(a.cloud);
    // What the store holds when a driver died right after its claim: QUEUED, a command id, no command.
    const job = newJob({
      targets: { deviceIds: [device!.id], groupIds: [], selector: null },
      waves: null,
      abort: [],
      total: 1,
    });
    await store.jobs.create(job);
    await store.jobs.addExecutions(job.id, [device!.id], job.createdAt);
    const commandId = "1189273498234982401";
    await store.jobs.transitionExecution(job.id, device!.id, "PENDING", {
      status: "QUEUED",
      commandId,
      wave: 0,
      updatedAt: job.createdAt,
    });

    const b = await restart(file, a.clock.now(), [device!]);
    const done = await untilJob(b.cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done.counts).toMatchObject({ SUCCEEDED: 1 });
    expect(b.devices[0]!.commands).toEqual([commandId]);
    await settle();
  });

  it("a scheduled job survives the restart and starts at its time", async () => {
    const file = await sqliteFile();
    const a = await clouds.make(LONG_HEARTBEAT, await file.open());
    const devices = await fleet(a.cloud, 2);
    const job = await a.cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: devices.map((d) => d.id) },
      scheduledAt: a.clock.now() + 30_000,
    });
    crash(a.cloud);
    const b = await restart(file, a.clock.now() + 10_000, devices);
    await settle(10);
    expect((await b.cloud.jobs.get(job.id)).status).toBe("SCHEDULED");
    await b.clock.advance(20_000);
    const done = await untilJob(b.cloud, job.id, (j) => j.status === "COMPLETED");
    expect(done.counts).toMatchObject({ SUCCEEDED: 2 });
  });
});
