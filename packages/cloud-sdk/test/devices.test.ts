import { afterEach, describe, expect, it } from "vitest";
import { RecentPresence } from "../src/devices/recent-presence.js";
import { type CloudEvent, createMemoryStore, type PresenceEvent } from "../src/index.js";
import { createTeardown } from "../src/testing/teardown.js";
import { makeCloud } from "./support/cloud-fixture.js";
import { until } from "./support/fake-device.js";
import { ManualClock, settle } from "./support/manual-clock.js";
import { PeerBus } from "./support/peer-buses.js";

const teardown = createTeardown(afterEach);

async function node(...args: Parameters<typeof makeCloud>) {
  const fixture = await makeCloud(...args);
  teardown.add(() => fixture.cloud.close({ graceMs: 0 }));
  return fixture;
}

/** A presence event as another node's hub publishes it. */
const presence = (deviceId: string, online: boolean, sessionId: string, at = 0): PresenceEvent => ({
  type: "presence",
  deviceId,
  at,
  online,
  reason: online ? "connected" : "client_closed",
  sessionId,
  nodeId: "elsewhere",
});

describe("device views", () => {
  it("carry the device's groups and its latest status", async () => {
    const { cloud, clock, online } = await node();
    const { device, conn } = await online("viewed");
    const group = await cloud.groups.create({ name: "site" });
    await cloud.groups.addDevice(group.id, device.id);
    conn.sendPdu({ type: "status", ts: clock.now(), data: { cpu: { usagePercent: 3 } } });
    const view = await cloud.devices.view(device.id);
    expect(view).toMatchObject({ id: device.id, online: true, groupIds: [group.id] });
    expect(view.status).toMatchObject({ deviceId: device.id, data: { cpu: { usagePercent: 3 } } });
    const { device: fresh } = await cloud.devices.register({ name: "new" });
    expect(fresh).toMatchObject({ online: false, groupIds: [] });
    expect((await cloud.devices.view(fresh.id)).status).toBeNull();
    const page = await cloud.devices.list({ groupId: group.id });
    expect(page.items.map((d) => [d.id, d.groupIds])).toEqual([[device.id, [group.id]]]);
    await expect(cloud.devices.view("42")).rejects.toMatchObject({ code: "device_not_found", status: 404 });
  });

  it("show presence another node reported before the persisted flag follows", async () => {
    const { cloud, store, clock } = await node();
    const { device } = await cloud.devices.register({ name: "remote" });
    await cloud.bus.publish(presence(device.id, true, "s1", clock.now()));
    expect((await store.devices.get(device.id))?.online).toBe(false); // not written yet
    expect((await cloud.devices.view(device.id)).online).toBe(true);
    expect((await cloud.devices.list()).items[0]?.online).toBe(true);
    // The persisted flag says online, the latest event says it went offline: offline.
    await store.devices.setPresence(device.id, {
      online: true,
      connectedAt: clock.now(),
      lastSeenAt: clock.now(),
    });
    await cloud.bus.publish(presence(device.id, false, "s1"));
    expect((await cloud.devices.view(device.id)).online).toBe(false);
  });

  it("trust an event only while the persisted flag may lag (30 s), so a missed one misleads no longer", async () => {
    const { cloud, clock } = await node();
    const { device } = await cloud.devices.register({ name: "missed" });
    await cloud.bus.publish(presence(device.id, true, "s1")); // its offline event is then lost
    await clock.advance(29_999);
    expect((await cloud.devices.view(device.id)).online).toBe(true);
    await clock.advance(1);
    expect((await cloud.devices.view(device.id)).online).toBe(false); // persisted: never online
  });

  it("let a replaced session's late offline event not hide its successor", async () => {
    const { cloud } = await node();
    const { device } = await cloud.devices.register({ name: "moved" });
    await cloud.bus.publish(presence(device.id, true, "s1"));
    await cloud.bus.publish(presence(device.id, true, "s2")); // it reconnected on another node
    await cloud.bus.publish(presence(device.id, false, "s1")); // the first node noticed late
    expect((await cloud.devices.view(device.id)).online).toBe(true);
    await cloud.bus.publish(presence(device.id, false, "s2"));
    expect((await cloud.devices.view(device.id)).online).toBe(false);
  });

  it("follow the local hub's sessions through the bus", async () => {
    const { cloud, online } = await node();
    const { device, conn } = await online("local");
    expect((await cloud.devices.view(device.id)).online).toBe(true);
    conn.hangUp(1000);
    await settle();
    expect((await cloud.devices.view(device.id)).online).toBe(false);
  });
});

describe("recent presence", () => {
  it("keeps at most `capacity` devices, dropping the one heard of longest ago", () => {
    const recent = new RecentPresence(new ManualClock(), 2);
    recent.observe(presence("1", true, "a"));
    recent.observe(presence("2", true, "b"));
    recent.observe(presence("1", true, "c")); // heard of again: now the most recent
    recent.observe(presence("3", true, "d"));
    expect(["1", "2", "3"].map((id) => recent.online(id, false))).toEqual([true, false, true]);
    recent.observe({ type: "device_deleted", deviceId: "3", at: 0 });
    expect(recent.online("3", false)).toBe(false);
  });
});

describe("deleting a device", () => {
  it("makes every node forget its latest status, and closes its session wherever it is", async () => {
    const store = createMemoryStore();
    const [busA, busB] = PeerBus.pair();
    const a = await node({ bus: busA }, store);
    const b = await node({ bus: busB, clock: a.clock }, store);
    const seenOnB: CloudEvent[] = [];
    b.cloud.events.on("event", (event) => seenOnB.push(event));
    const { device, conn } = await a.online("doomed");
    conn.sendPdu({ type: "status", ts: a.clock.now(), data: { uptimeS: 1 } });
    await a.cloud.status.writer.flush();
    expect(await b.cloud.status.latest(device.id)).toBeDefined();
    await b.cloud.devices.delete(device.id);
    await until(() => conn.closedWith !== undefined, "the session closed");
    expect(seenOnB).toContainEqual({ type: "device_deleted", deviceId: device.id, at: a.clock.now() });
    expect(await a.cloud.status.latest(device.id)).toBeUndefined();
    expect(await b.cloud.status.latest(device.id)).toBeUndefined();
    await expect(a.cloud.devices.view(device.id)).rejects.toMatchObject({ code: "device_not_found" });
  });
});

describe("the event log", () => {
  it("lists what was just appended (flushed first); unknown devices are not found", async () => {
    const { cloud } = await node();
    const { device } = await cloud.devices.register({ name: "logged" });
    await cloud.devices.update(device.id, { name: "renamed" });
    const page = await cloud.eventLog.list(device.id, { kinds: ["updated"] });
    expect(page.items).toMatchObject([{ deviceId: device.id, kind: "updated", data: { fields: ["name"] } }]);
    expect((await cloud.eventLog.list(device.id)).items.map((e) => e.kind)).toEqual([
      "updated",
      "registered",
    ]);
    await expect(cloud.eventLog.list("42")).rejects.toMatchObject({ code: "device_not_found", status: 404 });
  });
});
