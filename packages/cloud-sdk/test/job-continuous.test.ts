import { describe, expect, it } from "vitest";
import { brokerClouds } from "./support/broker-clouds.js";
import { connect, distinctCommands, fleet, untilJob } from "./support/job-fleet.js";
import { settle } from "./support/manual-clock.js";

const clouds = brokerClouds();

describe("continuous target selection", () => {
  it("adds devices that come to match while the job runs: registered, relabelled, joined a target group", async () => {
    const { cloud } = await clouds.make();
    const [first, other] = await fleet(cloud, 2, undefined, (i) => ({ site: i === 0 ? "berlin" : "paris" }));
    const group = await cloud.groups.create({ name: "late" });
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { selector: "site=berlin", groupIds: [group.id] },
      targetSelection: "continuous",
      ttlMs: 600_000, // a device registered now connects a moment later
    });
    const idle = await untilJob(cloud, job.id, (j) => j.counts.SUCCEEDED === 1);
    expect(idle).toMatchObject({ status: "IN_PROGRESS", total: 1 }); // continuous: it waits for more

    // Registered matching the selector after the job started.
    const { device, secret } = await cloud.devices.register({ name: "new", labels: { site: "berlin" } });
    const late = await connect(cloud, { id: device.id, secret, commands: [] }, () => "succeed");
    await untilJob(cloud, job.id, (j) => j.counts.SUCCEEDED === 2);
    expect(late.commands).toHaveLength(1);

    // A device that does not match stays out, until it is relabelled into the selector.
    const { device: stranger } = await cloud.devices.register({ name: "stranger", labels: { site: "rome" } });
    await settle(10);
    expect((await cloud.jobs.get(job.id)).total).toBe(2);
    await cloud.devices.update(other!.id, { labels: { site: "berlin" } });
    await untilJob(cloud, job.id, (j) => j.counts.SUCCEEDED === 3);

    // Joining a target group; joining again, or relabelling again, adds nothing twice.
    await cloud.groups.addDevice(group.id, stranger.id);
    const withStranger = await untilJob(cloud, job.id, (j) => j.total === 4);
    expect(withStranger.counts.QUEUED).toBe(1); // offline: it waits (ttlMs)
    await cloud.groups.addDevice(group.id, first!.id);
    await cloud.devices.update(first!.id, { labels: { site: "berlin", again: "yes" } });
    await settle(10);
    const after = await cloud.jobs.get(job.id);
    expect(after).toMatchObject({ status: "IN_PROGRESS", total: 4 });
    expect(distinctCommands([first!, other!])).toEqual([1, 1]);

    expect((await cloud.jobs.cancel(job.id)).status).toBe("CANCELED");
  });

  it("a snapshot job does not pick up devices registered after it started", async () => {
    const { cloud } = await clouds.make();
    await fleet(cloud, 1, undefined, () => ({ site: "berlin" }));
    const job = await cloud.jobs.create({ method: "system.ping", targets: { selector: "site=berlin" } });
    await untilJob(cloud, job.id, (j) => j.status === "COMPLETED");
    await cloud.devices.register({ name: "late", labels: { site: "berlin" } });
    await settle(10);
    expect(await cloud.jobs.get(job.id)).toMatchObject({ status: "COMPLETED", total: 1 });
  });
});
