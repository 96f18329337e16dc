import { ErrorCode } from "@cloudedge/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { StatusQuota } from "../src/index.js";
import { createTeardown } from "../src/testing/teardown.js";
import { makeCloud } from "./support/cloud-fixture.js";

const teardown = createTeardown(afterEach);
async function setup(overrides: Parameters<typeof makeCloud>[0] = {}) {
  const fixture = await makeCloud(overrides);
  teardown.add(() => fixture.cloud.close({ graceMs: 0 }));
  return fixture;
}

describe("StatusQuota", () => {
  it("a token bucket per device: the burst at once, then the rate; refusals say when to retry", () => {
    const quota = new StatusQuota({ reportsPerMinute: 60, burst: 3 });
    for (let i = 0; i < 3; i++) expect(quota.admit("a", 10, 0)).toBeUndefined();
    expect(quota.admit("a", 10, 0)).toMatchObject({ reason: "rate", retryAfterMs: 1000 });
    expect(quota.admit("b", 10, 0)).toBeUndefined(); // another device has its own
    expect(quota.admit("a", 10, 500)).toMatchObject({ reason: "rate", retryAfterMs: 500 });
    expect(quota.admit("a", 10, 1000)).toBeUndefined();
    expect(quota.stats.rateLimited).toBe(2);
  });

  it("refuses a report over the byte bound without taking from the allowance", () => {
    const quota = new StatusQuota({ burst: 1, maxReportBytes: 100 });
    expect(quota.admit("a", 101, 0)).toMatchObject({ reason: "size" });
    expect(quota.admit("a", 100, 0)).toBeUndefined();
    expect(quota.stats.tooLarge).toBe(1);
  });

  it("clamps a ts beyond now + skew, keeps past ones (outbox)", () => {
    const quota = new StatusQuota({ maxClockSkewMs: 1000 });
    expect(quota.clampTs(8.64e15, 5000)).toBe(6000);
    expect(quota.clampTs(6000, 5000)).toBe(6000);
    expect(quota.clampTs(1, 5000)).toBe(1);
    expect(quota.stats.clampedTs).toBe(1);
  });

  it("sweep forgets refilled buckets only: reconnecting does not refill", () => {
    const quota = new StatusQuota({ reportsPerMinute: 60, burst: 2 });
    quota.admit("a", 1, 0);
    quota.admit("a", 1, 0);
    quota.sweep(500);
    expect(quota.admit("a", 1, 500)).toMatchObject({ reason: "rate" });
    quota.sweep(10_000);
    expect(quota.admit("a", 1, 10_000)).toBeUndefined();
  });
});

describe("status ingest quotas", () => {
  it("answers reports over the rate or size with error quota_exceeded and drops them", async () => {
    const { cloud, online, clock } = await setup({
      status: { quota: { reportsPerMinute: 60, burst: 2, maxReportBytes: 200 } },
    });
    const { device, conn } = await online();
    const t = clock.now();
    conn.sendPdu({ type: "status", ts: t - 2, data: { uptimeS: 1 } });
    conn.sendPdu({ type: "status", ts: t - 1, data: { uptimeS: 2 } });
    conn.sendPdu({ type: "status", ts: t, data: { uptimeS: 3 } });
    conn.sendPdu({ type: "status", ts: t, data: { errors: { big: "x".repeat(300) } } });
    const errors = conn.of("error");
    expect(errors.map((e) => e.code)).toEqual([ErrorCode.QUOTA_EXCEEDED, ErrorCode.QUOTA_EXCEEDED]);
    expect(errors[0]?.retryAfterMs).toBe(1000);
    expect(errors[1]?.message).toMatch(/over the 200-byte limit/);
    expect((await cloud.status.history(device.id)).map((h) => h.data)).toEqual([
      { uptimeS: 2 },
      { uptimeS: 1 },
    ]);
    expect(cloud.status.quota.stats).toMatchObject({ rateLimited: 1, tooLarge: 1 });
    expect(conn.closedWith).toBeUndefined(); // the session goes on
  });

  it("a ts far in the future is stored clamped to now + skew, so a later honest report becomes latest", async () => {
    const { cloud, online, clock } = await setup({ status: { quota: { maxClockSkewMs: 1_000 } } });
    const { device, conn } = await online();
    const t = clock.now();
    conn.sendPdu({ type: "status", ts: 8.64e15, data: { uptimeS: 1 } });
    expect((await cloud.status.latest(device.id))?.ts).toBe(t + 1_000);
    await clock.advance(2_000);
    conn.sendPdu({ type: "status", ts: clock.now(), data: { uptimeS: 2 } });
    expect((await cloud.status.latest(device.id))?.data).toEqual({ uptimeS: 2 });
    expect((await cloud.status.history(device.id)).map((h) => h.ts)).toEqual([clock.now(), t + 1_000]);
    expect(cloud.status.quota.stats.clampedTs).toBe(1);
  });

  it("prunes a device's oldest history once a quarter of its byte bound arrived, keeping the bound", async () => {
    const { cloud, online, clock } = await setup({ status: { retention: { maxBytesPerDevice: 400 } } });
    const { device, conn } = await online();
    const t = clock.now();
    // {"s":"…"} with 92 characters is 100 bytes: every report triggers a prune to 400 bytes.
    for (let i = 0; i < 8; i++) conn.sendPdu({ type: "status", ts: t + i, data: { s: "x".repeat(92) } });
    await clock.advance(2_000);
    const history = await cloud.status.history(device.id);
    expect(history.map((h) => h.ts)).toEqual([t + 7, t + 6, t + 5, t + 4]);
  });
});

describe("command queue quota", () => {
  it("refuses commands past the per-device count with 429 queue_full, counting only unfinished ones", async () => {
    const { cloud } = await setup({ commands: { quota: { maxActive: 2 } } });
    const { device } = await cloud.devices.register({ name: "offline" });
    const first = await cloud.broker.send(device.id, "a", null, { ttlMs: 60_000 });
    await cloud.broker.send(device.id, "b", null, { ttlMs: 60_000 });
    await expect(cloud.broker.send(device.id, "c", null, { ttlMs: 60_000 })).rejects.toMatchObject({
      status: 429,
      code: "queue_full",
      details: { deviceId: device.id, limit: "commands", max: 2 },
    });
    await cloud.broker.cancel(first.id);
    await expect(cloud.broker.send(device.id, "c", null, { ttlMs: 60_000 })).resolves.toMatchObject({
      status: "QUEUED",
    });
    expect(cloud.broker.quota.refused).toBe(1);
  });

  it("refuses past the params bytes, and holds under concurrency (reservations before the store answers)", async () => {
    const { cloud } = await setup({ commands: { quota: { maxActive: 100, maxActiveBytes: 1000 } } });
    const { device } = await cloud.devices.register({ name: "offline" });
    const params = { blob: "x".repeat(390) }; // 401 bytes
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => cloud.broker.send(device.id, "put", params, { ttlMs: 60_000 })),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(2);
    const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(refusals.map((r) => r.reason)).toEqual(
      Array(8).fill(
        expect.objectContaining({ code: "queue_full", details: expect.objectContaining({ limit: "bytes" }) }),
      ),
    );
    expect(await cloud.options.store.commands.activeLoad(device.id)).toEqual({ count: 2, bytes: 802 });
  });

  it("this node's commands leave the reading when they end: a busy device costs one read a minute", async () => {
    const { cloud, clock } = await setup({ commands: { quota: { maxActive: 4 } } });
    const { device } = await cloud.devices.register({ name: "offline" });
    const reads = vi.spyOn(cloud.options.store.commands, "activeLoad");
    const send = () => cloud.broker.send(device.id, "a", null, { ttlMs: 60_000 });
    for (let round = 0; round < 5; round++) {
      const sent = [await send(), await send()]; // 2 unfinished: at half the quota, never past it
      for (const command of sent) await cloud.broker.cancel(command.id);
    }
    expect(reads).toHaveBeenCalledTimes(1); // counted up and down, never re-read
    await clock.advance(60_000);
    await send();
    expect(reads).toHaveBeenCalledTimes(2); // the reading is a minute old: read again
  });

  it("far below the quota a recent reading is used; past half of it the store is read each time", async () => {
    const { cloud, clock } = await setup({ commands: { quota: { maxActive: 4 } } });
    const { device } = await cloud.devices.register({ name: "offline" });
    const reads = vi.spyOn(cloud.options.store.commands, "activeLoad");
    const send = () => cloud.broker.send(device.id, "a", null, { ttlMs: 60_000 });
    await send(); // read: 0 stored
    await send(); // (0 + 1 created since) + 1 ≤ half: the reading stands
    expect(reads).toHaveBeenCalledTimes(1);
    await send(); // 3 > half: read
    await send(); // read
    expect(reads).toHaveBeenCalledTimes(3);
    await expect(send()).rejects.toMatchObject({ code: "queue_full" });
    await clock.advance(1_000);
    await expect(send()).rejects.toMatchObject({ code: "queue_full" });
  });
});
