import { describe, expect, it, vi } from "vitest";
import { createMemoryStore } from "../src/index.js";
import { newDevice } from "../src/testing/fixtures.js";
import { brokerClouds } from "./support/broker-clouds.js";
import { untilJob } from "./support/job-fleet.js";

const clouds = brokerClouds();

describe("job engine memory: O(maxInFlight), not O(targets)", () => {
  it("pages through 2,000 targets and their executions, never more than maxInFlight in flight", async () => {
    const store = createMemoryStore();
    for (let i = 0; i < 2_000; i++) await store.devices.create(newDevice({ labels: { fleet: "kiosk" } }));
    const { cloud } = await clouds.make({}, store);
    const deviceLimits: number[] = [];
    const executionLimits: number[] = [];
    const list = store.devices.list.bind(store.devices);
    vi.spyOn(store.devices, "list").mockImplementation((q) => {
      deviceLimits.push(q?.limit ?? 100);
      return list(q);
    });
    const listExecutions = store.jobs.listExecutions.bind(store.jobs);
    vi.spyOn(store.jobs, "listExecutions").mockImplementation((id, q) => {
      // Dispatch pages of PENDING ones; the start-up read of what is in flight pages by 1,000.
      if (q?.status?.includes("PENDING")) executionLimits.push(q?.limit ?? 100);
      return listExecutions(id, q);
    });
    let peak = 0;
    cloud.events.on("event", (e) => {
      if (e.type !== "job.execution") return;
      const c = cloud.jobs.get(e.jobId);
      void c.then((j) => {
        peak = Math.max(peak, j.counts.QUEUED + j.counts.SENT + j.counts.DELIVERED);
      });
    });
    // Every device is offline and there is no TTL: each execution fails at once (device_offline).
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { selector: "fleet=kiosk" },
      rollout: { maxInFlight: 10 },
    });
    const done = await untilJob(cloud, job.id, (j) => j.status === "COMPLETED", "COMPLETED");
    expect(done).toMatchObject({ total: 2_000, counts: { FAILED: 2_000 } });
    expect(Math.max(...deviceLimits)).toBeLessThanOrEqual(500);
    expect(executionLimits.length).toBeGreaterThanOrEqual(200); // 2,000 in pages of at most 10
    expect(Math.max(...executionLimits)).toBeLessThanOrEqual(10);
    expect(peak).toBeLessThanOrEqual(10);
    const failed = (await cloud.jobs.executions(job.id, { status: ["FAILED"], limit: 1 })).items[0];
    expect(failed?.error).toMatchObject({ code: "device_offline" });
  });
});
