import { ErrorCode } from "@cloudedge/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { stateDelta } from "../src/index.js";
import { createTeardown } from "../src/testing/teardown.js";
import { makeCloud } from "./support/cloud-fixture.js";
import { FakeDevice, hello, until } from "./support/fake-device.js";
import { settle } from "./support/manual-clock.js";

const teardown = createTeardown(afterEach);
async function setup(overrides: Parameters<typeof makeCloud>[0] = {}) {
  const fixture = await makeCloud(overrides);
  teardown.add(() => fixture.cloud.close({ graceMs: 0 }));
  return fixture;
}

describe("stateDelta", () => {
  it("keeps a __proto__ key as data, as desired does (#20.11)", () => {
    const desired = JSON.parse('{"__proto__":{"x":1},"n":{"__proto__":2}}');
    const delta = stateDelta(desired, {});
    expect(Object.hasOwn(delta, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(delta)).toBe(Object.prototype);
    expect(Object.hasOwn(delta["n"] as object, "__proto__")).toBe(true);
    expect(stateDelta(desired, JSON.parse('{"__proto__":{"x":1},"n":{"__proto__":2}}'))).toEqual({});
  });
});

describe("desired state", () => {
  it("applies merge patches with increasing versions and pushes them to the online device", async () => {
    const { cloud, online } = await setup();
    const { device, conn } = await online();
    const first = await cloud.state.patchDesired(device.id, { statusIntervalMs: 5000, logLevel: "info" });
    expect(first).toMatchObject({ desiredVersion: 1, desired: { statusIntervalMs: 5000, logLevel: "info" } });
    const second = await cloud.state.patchDesired(device.id, { logLevel: null, extra: { a: 1 } }, 1);
    expect(second.desired).toEqual({ statusIntervalMs: 5000, extra: { a: 1 } });
    expect(conn.of("desired")).toEqual([
      { type: "desired", version: 1, patch: { statusIntervalMs: 5000, logLevel: "info" } },
      { type: "desired", version: 2, patch: { logLevel: null, extra: { a: 1 } } },
    ]);
  });

  it("If-Match on a stale version fails with version_mismatch (412) and changes nothing", async () => {
    const { cloud } = await setup();
    const { device } = await cloud.devices.register({ name: "d" });
    await cloud.state.patchDesired(device.id, { a: 1 });
    await expect(cloud.state.patchDesired(device.id, { a: 2 }, 0)).rejects.toMatchObject({
      code: "version_mismatch",
      status: 412,
      details: { currentVersion: 1 },
    });
    expect((await cloud.state.get(device.id)).desired).toEqual({ a: 1 });
  });

  it("rejects a non-object patch (400) and unknown devices (404)", async () => {
    const { cloud } = await setup();
    const { device } = await cloud.devices.register({ name: "d" });
    await expect(cloud.state.patchDesired(device.id, [1])).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(cloud.state.patchDesired("42", {})).rejects.toMatchObject({
      code: "device_not_found",
      status: 404,
    });
  });

  it("holds the patch and the merged document to the document limits before any recursive walk", async () => {
    const { cloud } = await setup();
    const { device } = await cloud.devices.register({ name: "d" });
    const deep = JSON.parse(`${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`);
    await expect(cloud.state.patchDesired(device.id, deep)).rejects.toMatchObject({
      code: "document_limit",
      status: 400,
      details: { limit: "depth", max: 30 },
    });
    const keys = (from: number, n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, i]));
    await cloud.state.patchDesired(device.id, { o: keys(0, 1000) });
    await expect(cloud.state.patchDesired(device.id, { o: keys(1000, 1) })).rejects.toMatchObject({
      code: "document_limit",
      details: { limit: "keys", fields: [{ path: "/desired/o" }] },
    });
    expect((await cloud.state.get(device.id)).desiredVersion).toBe(1);
  });

  it("a hub without desired state answers a device that applied some with version 0 and {} (§6.3)", async () => {
    const { cloud } = await setup();
    const { device, secret } = await cloud.devices.register({ name: "d" });
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(hello({ deviceId: device.id, secret, desiredVersion: 5 }));
    await until(() => conn.of("welcome").length === 1, "welcome");
    expect(conn.last("welcome")?.desired).toEqual({ version: 0, patch: {}, full: true });
  });

  it("a stored desired document beyond the limits (written before they held) does not block the welcome", async () => {
    const { cloud, store } = await setup();
    const { device, secret } = await cloud.devices.register({ name: "d" });
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 40; i++) deep = { a: deep };
    await store.state.setDesired(device.id, deep as never, 1, 0, 1);
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(hello({ deviceId: device.id, secret }));
    await until(() => conn.of("welcome").length === 1, "welcome");
    expect(conn.last("welcome")?.desired).toBeUndefined();
  });

  it("resyncs a device that was offline: welcome carries the whole document at the hub's version", async () => {
    const { cloud } = await setup();
    const { device, secret } = await cloud.devices.register({ name: "d" });
    await cloud.state.patchDesired(device.id, { a: 1 });
    await cloud.state.patchDesired(device.id, { b: 2 });
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(hello({ deviceId: device.id, secret, desiredVersion: 1 }));
    await until(() => conn.received.length > 0, "welcome");
    expect(conn.last("welcome")?.desired).toEqual({ version: 2, patch: { a: 1, b: 2 }, full: true });
    const current = new FakeDevice(cloud.hub);
    current.sendPdu(hello({ deviceId: device.id, secret, desiredVersion: 2 }));
    await until(() => current.received.length > 0, "welcome");
    expect(current.last("welcome")?.desired).toBeUndefined();
  });
});

describe("reported state", () => {
  it("applies patches in version order; stale and gapped versions are refused with their codes", async () => {
    const { cloud, online } = await setup();
    const { device, conn } = await online();
    conn.sendPdu({ type: "reported", version: 1, patch: { logLevel: "info", fw: "1.0" } });
    conn.sendPdu({ type: "reported", version: 2, patch: { fw: "1.1" } });
    conn.sendPdu({ type: "reported", version: 2, patch: { fw: "0.9" } });
    conn.sendPdu({ type: "reported", version: 5, patch: { fw: "9" } });
    await until(() => conn.of("error").length === 2, "two refusals");
    expect(conn.of("error").map((e) => e.code)).toEqual([ErrorCode.STALE_VERSION, ErrorCode.VERSION_GAP]);
    const state = await cloud.state.get(device.id);
    expect(state).toMatchObject({ reported: { logLevel: "info", fw: "1.1" }, reportedVersion: 2 });
    conn.sendPdu({ type: "reported", version: 5, patch: { fw: "2.0" }, full: true });
    await settle(10);
    expect(await cloud.state.get(device.id)).toMatchObject({ reported: { fw: "2.0" }, reportedVersion: 5 });
  });

  it("a closed state service leaves the hub's sessions alone: no reported state taken, no desired pushed", async () => {
    const { cloud, online } = await setup();
    const { device, conn } = await online();
    cloud.state.close();
    conn.sendPdu({ type: "reported", version: 1, patch: { fw: "1.0" } });
    await cloud.state.patchDesired(device.id, { a: 1 });
    await settle(10);
    expect(await cloud.state.get(device.id)).toMatchObject({
      reported: {},
      reportedVersion: 0,
      desiredVersion: 1,
    });
    expect(conn.of("desired")).toEqual([]);
  });

  it("shows the delta: what desired asks that reported does not show", async () => {
    expect(stateDelta({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { a: 1, b: { c: 2, d: 4 }, f: 1 })).toEqual({
      b: { d: 3 },
      e: [1],
    });
    const { cloud, online } = await setup();
    const { device, conn } = await online();
    await cloud.state.patchDesired(device.id, { logLevel: "debug", statusIntervalMs: 1000 });
    conn.sendPdu({ type: "reported", version: 1, patch: { logLevel: "debug" } });
    await settle(10);
    expect((await cloud.state.get(device.id)).delta).toEqual({ statusIntervalMs: 1000 });
  });
});

describe("status ingest", () => {
  it("keeps the latest in memory, writes history behind in batches, and never lets an old outbox report win", async () => {
    const { cloud, online, clock } = await setup();
    const { device, conn } = await online();
    const t = clock.now();
    conn.sendPdu({ type: "status", ts: t, data: { cpu: { usagePercent: 10 } } });
    conn.sendPdu({ type: "status", ts: t - 60_000, data: { cpu: { usagePercent: 99 } } }); // from the outbox
    expect((await cloud.status.latest(device.id))?.data).toEqual({ cpu: { usagePercent: 10 } });
    expect(cloud.status.writer.size).toBe(2);
    await clock.advance(1_500);
    expect(cloud.status.writer.size).toBe(0);
    const history = await cloud.status.history(device.id, { order: "asc" });
    expect(history.map((h) => h.ts)).toEqual([t - 60_000, t]);
    expect((await cloud.options.store.status.latest(device.id))?.ts).toBe(t);
  });

  it("history flushes what is pending first, so nothing received is missing", async () => {
    const { cloud, online, clock } = await setup();
    const { device, conn } = await online();
    conn.sendPdu({ type: "status", ts: clock.now(), data: { uptimeS: 5 } });
    expect(await cloud.status.history(device.id)).toHaveLength(1);
  });

  it("current: the latest report; 404 device_not_found for an unknown device, no_status before any report", async () => {
    const { cloud, online, clock } = await setup();
    const { device, conn } = await online();
    await expect(cloud.status.current(device.id)).rejects.toMatchObject({ status: 404, code: "no_status" });
    await expect(cloud.status.current("123")).rejects.toMatchObject({
      status: 404,
      code: "device_not_found",
    });
    conn.sendPdu({ type: "status", ts: clock.now(), data: { uptimeS: 7 } });
    expect((await cloud.status.current(device.id)).data).toEqual({ uptimeS: 7 });
  });
});

describe("event log", () => {
  it("records connects, disconnects with reason, auth failures, commands and state changes", async () => {
    const { cloud, online, store } = await setup();
    const { device, conn } = await online();
    await cloud.state.patchDesired(device.id, { a: 1 });
    const bad = new FakeDevice(cloud.hub, "10.3.3.3");
    bad.sendPdu(hello({ deviceId: device.id, secret: "nope-nope-nope-nope" }));
    await until(() => bad.closedWith !== undefined, "auth failure");
    conn.hangUp(1006);
    await cloud.eventLog.flush();
    const page = await store.events.list(device.id);
    const summary = page.items.map((e) => `${e.kind}:${e.reason ?? ""}`).reverse();
    expect(summary).toEqual(
      expect.arrayContaining([
        "registered:",
        "connected:connected",
        "state:desired",
        "auth_failed:bad_secret",
        "disconnected:connection_lost",
      ]),
    );
    expect(JSON.stringify(page.items)).not.toContain("nope-nope");
  });
});
