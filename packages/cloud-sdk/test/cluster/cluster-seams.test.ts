import { afterEach, describe, expect, it } from "vitest";
import {
  type BusRequest,
  CloudError,
  type CloudEvent,
  type ClusterPresence,
  type CommandRecord,
  createMemoryStore,
  LocalClusterBus,
  type OrphanedSession,
  type Store,
} from "../../src/index.js";
import { createTeardown } from "../../src/testing/teardown.js";
import { makeCloud } from "../support/cloud-fixture.js";
import { FakeDevice, hello, until } from "../support/fake-device.js";
import { settle } from "../support/manual-clock.js";

/**
 * What the cloud SDK does for clusters, in virtual time over in-memory connections: a bus
 * with cluster presence (the part of NatsClusterBus the services see), commands moved by
 * "another node" written straight into the shared store.
 */
class PresenceBus extends LocalClusterBus {
  /** Devices other nodes hold, with the node. */
  readonly elsewhere = new Map<string, string>();
  private readonly mine = new Set<string>();
  private readonly orphanHandlers = new Set<(orphan: OrphanedSession) => Promise<void>>();

  override async hold(deviceId: string): Promise<void> {
    this.mine.add(deviceId);
    await super.hold(deviceId);
  }
  override async release(deviceId: string): Promise<void> {
    this.mine.delete(deviceId);
    await super.release(deviceId);
  }
  /** Makes requests fail as a NATS bus does while NATS is down. */
  down = false;
  /** What happens to a request on its way (another node's version, a race). */
  onTheWay: ((request: BusRequest) => Promise<BusRequest>) | undefined;
  /** Answers a request instead of the holder, when it returns an answer (a race, a lost request). */
  answer: ((request: BusRequest) => Promise<"no_responders" | undefined>) | undefined;
  override async request(...args: Parameters<LocalClusterBus["request"]>) {
    if (this.down) throw new CloudError("cluster_unavailable", "the cluster bus is unavailable", 503);
    const [deviceId, request] = args;
    const answered = await this.answer?.(request);
    if (answered) return answered;
    return super.request(deviceId, this.onTheWay ? await this.onTheWay(request) : request);
  }
  override readonly presence: ClusterPresence = {
    shared: true,
    locate: async (deviceId) => (this.mine.has(deviceId) ? this.nodeId : this.elsewhere.get(deviceId)),
    onOrphaned: (handler) => {
      this.orphanHandlers.add(handler);
      return () => this.orphanHandlers.delete(handler);
    },
  };
  async reap(orphan: OrphanedSession): Promise<void> {
    for (const handler of this.orphanHandlers) await handler(orphan);
  }
}

const teardown = createTeardown(afterEach);

async function setup(store: Store = createMemoryStore(), bus = new PresenceBus("here")) {
  const fixture = await makeCloud({ bus, commands: { scanMs: 1_000 } }, store);
  teardown.add(() => fixture.cloud.close({ graceMs: 0 }));
  const events: CloudEvent[] = [];
  fixture.cloud.events.on("event", (event) => events.push(event));
  return { ...fixture, bus, events };
}

/** A command as another node left it in the shared store. */
function foreign(deviceId: string, now: number, fields: Partial<CommandRecord>): CommandRecord {
  return {
    id: String(900_000 + Math.floor(Math.random() * 99_999)),
    deviceId,
    method: "elsewhere",
    params: null,
    status: "QUEUED",
    result: null,
    error: null,
    timeoutMs: 5_000,
    expiresAt: null,
    deadline: null,
    attempts: 0,
    acknowledgedAt: null,
    groupId: null,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

describe("the store scan ends overdue commands whichever node created or sent them", () => {
  it("times out, expires, and fails as offline — and leaves what is not due", async () => {
    const { cloud, clock, store } = await setup();
    const { device } = await cloud.devices.register({ name: "d" });
    const now = clock.now();
    const delivered = foreign(device.id, now, { status: "DELIVERED", attempts: 1, deadline: now + 2_000 });
    const ttl = foreign(device.id, now, { expiresAt: now + 2_000 });
    const noTtl = foreign(device.id, now, { timeoutMs: 2_000 });
    const notDue = foreign(device.id, now, { expiresAt: now + 60_000 });
    for (const c of [delivered, ttl, noTtl, notDue]) await store.commands.create(c);
    await clock.advance(1_000);
    expect((await store.commands.listNonTerminal()).length).toBe(4);
    await clock.advance(2_000);
    expect(await cloud.broker.get(delivered.id)).toMatchObject({
      status: "TIMED_OUT",
      error: { code: "result_timeout" },
    });
    expect((await cloud.broker.get(ttl.id)).status).toBe("EXPIRED");
    // Never sent and no TTL: given its timeout plus a grace (it may be on its way), then failed.
    expect((await cloud.broker.get(noTtl.id)).status).toBe("QUEUED");
    await clock.advance(30_000);
    expect(await cloud.broker.get(noTtl.id)).toMatchObject({
      status: "FAILED",
      error: { code: "device_offline" },
    });
    expect((await cloud.broker.get(notDue.id)).status).toBe("QUEUED");
  });
});

describe("a new session takes over what an older one left in flight", () => {
  it("redelivers SENT/DELIVERED commands of the device (their node died) with their deadline", async () => {
    const { cloud, clock, store } = await setup();
    const { device, secret } = await cloud.devices.register({ name: "d" });
    const now = clock.now();
    const left = foreign(device.id, now, { status: "DELIVERED", attempts: 1, deadline: now + 30_000 });
    await store.commands.create(left);
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(hello({ deviceId: device.id, secret }));
    await until(() => conn.of("cmd").length === 1, "redelivery");
    expect(conn.last("cmd")).toMatchObject({ id: left.id, deadline: now + 30_000 });
    expect(await cloud.broker.get(left.id)).toMatchObject({ status: "SENT", attempts: 2 });
  });

  it("a lost session requeues only what it was sent, not a newer session's sending", async () => {
    const { cloud, online, store } = await setup();
    const { device, conn } = await online();
    const sent = await cloud.broker.send(device.id, "x", null, { timeoutMs: 60_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    // Meanwhile the device reconnected to another node, which sent it again (attempts 2).
    const current = await store.commands.get(sent.id);
    await store.commands.transition(sent.id, "SENT", {
      attempts: 2,
      updatedAt: (current?.updatedAt ?? 0) + 1,
    });
    conn.hangUp(1006);
    await settle(20);
    expect(await cloud.broker.get(sent.id)).toMatchObject({ status: "SENT", attempts: 2 });
  });
});

describe("who stores a new command", () => {
  it("the holder stores it as it sends it: one write, announced as QUEUED then SENT", async () => {
    const { cloud, online, store } = await setup();
    const { device, conn } = await online();
    const creates: string[] = [];
    const create = store.commands.create.bind(store.commands);
    store.commands.create = (command) => {
      creates.push(command.status);
      return create(command);
    };
    const statuses: string[] = [];
    cloud.events.on("event", (e) => e.type === "command" && statuses.push(e.command.status));
    const sent = await cloud.broker.send(device.id, "x", null, { timeoutMs: 60_000 });
    expect(sent).toMatchObject({ status: "SENT", attempts: 1 });
    expect(conn.of("cmd").map((c) => c.id)).toEqual([sent.id]);
    expect(creates).toEqual(["SENT"]);
    expect(statuses).toEqual(["QUEUED", "SENT"]);
    expect(await store.commands.get(sent.id)).toEqual(sent);
  });

  it("a holder that stores nothing for its creator (an older node) still gets it: the creator stores it and asks again", async () => {
    const { cloud, online, store, bus } = await setup();
    const { device, conn } = await online();
    bus.onTheWay = async (request) => {
      if (request.kind !== "deliver") return request;
      const { unsaved: _ignored, ...older } = request;
      return older;
    };
    const sent = await cloud.broker.send(device.id, "x", null, { timeoutMs: 60_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    expect(conn.last("cmd")?.id).toBe(sent.id);
    expect(await store.commands.get(sent.id)).toMatchObject({ status: "SENT", attempts: 1 });
  });

  it("a creator that stored it first (the holder's answer came too late) gets it sent once, as stored", async () => {
    const { cloud, online, store, bus } = await setup();
    const { device, conn } = await online();
    bus.onTheWay = async (request) => {
      if (request.kind === "deliver" && request.command) await store.commands.create(request.command);
      return request;
    };
    const sent = await cloud.broker.send(device.id, "x", { a: 1 }, { timeoutMs: 60_000 });
    expect(sent).toMatchObject({ status: "SENT", attempts: 1, params: { a: 1 } });
    await settle(5);
    expect(conn.of("cmd").map((c) => c.id)).toEqual([sent.id]);
    expect(await store.commands.get(sent.id)).toMatchObject({ status: "SENT", attempts: 1 });
  });
});

describe("a new command nobody took on", () => {
  it("stored while the device's new session listed its queue: it is delivered all the same", async () => {
    const { cloud, store, bus } = await setup();
    const { device, secret } = await cloud.devices.register({ name: "late" });
    let conn: FakeDevice | undefined;
    bus.answer = async (request) => {
      if (request.kind !== "deliver" || !request.unsaved) return undefined;
      // Nobody holds the device when asked; it connects (and lists its empty queue) before
      // the creator has stored the command.
      conn = new FakeDevice(cloud.hub);
      conn.sendPdu(hello({ deviceId: device.id, secret }));
      await until(() => conn?.of("welcome").length === 1, "welcome");
      await settle(5);
      return "no_responders";
    };
    const sent = await cloud.broker.send(device.id, "x", null, { ttlMs: 60_000 });
    await until(() => conn?.of("cmd").length === 1, "cmd");
    expect(conn?.last("cmd")?.id).toBe(sent.id);
    expect(await store.commands.get(sent.id)).toMatchObject({ status: "SENT", attempts: 1 });
  });

  it("the holder's store fails once: the creator stores it, the holder lists again, the device gets it", async () => {
    const { cloud, online, store } = await setup();
    const { device, conn } = await online();
    const create = store.commands.create.bind(store.commands);
    let failures = 0;
    store.commands.create = (command) => {
      if (command.status === "SENT" && failures++ === 0) throw new Error("connection reset");
      return create(command);
    };
    const sent = await cloud.broker.send(device.id, "x", null, { timeoutMs: 60_000 });
    expect(failures).toBe(1);
    expect(sent).toMatchObject({ status: "SENT", attempts: 1 });
    expect(conn.of("cmd").map((c) => c.id)).toEqual([sent.id]);
    // And the next command takes the short path again once the queue was listed.
    const next = await cloud.broker.send(device.id, "y", null, { timeoutMs: 60_000 });
    expect(next.status).toBe("SENT");
    expect(conn.of("cmd").map((c) => c.id)).toEqual([sent.id, next.id]);
  });
});

describe("a bus that cannot route", () => {
  it("the caller gets 503 cluster_unavailable and the command is failed, never run later", async () => {
    const { cloud, bus, store } = await setup();
    const { device } = await cloud.devices.register({ name: "d" });
    bus.down = true;
    await expect(cloud.broker.send(device.id, "x", null, { ttlMs: 60_000 })).rejects.toMatchObject({
      code: "cluster_unavailable",
      status: 503,
    });
    const [command] = (await store.commands.listByDevice(device.id)).items;
    expect(command).toMatchObject({ status: "FAILED", error: { code: "cluster_unavailable" } });
  });
});

describe("waiting for an outcome recorded on another node", () => {
  it("a result landing while wait() reads the store is not missed", async () => {
    const { cloud, store, bus } = await setup();
    const { device } = await cloud.devices.register({ name: "d" });
    const command = foreign(device.id, Date.now(), {
      status: "DELIVERED",
      attempts: 1,
      deadline: Date.now() + 60_000,
    });
    await store.commands.create(command);
    // The read inside wait() sees DELIVERED; the outcome's event arrives before it returns.
    const get = store.commands.get.bind(store.commands);
    store.commands.get = async (id) => {
      const found = await get(id);
      const done = { ...command, status: "SUCCEEDED" as const, result: 7 };
      await bus.publish({ type: "command", deviceId: device.id, at: 1, command: done });
      store.commands.get = get;
      return found;
    };
    const final = await cloud.broker.wait(command.id, 600_000);
    expect(final).toMatchObject({ status: "SUCCEEDED", result: 7 });
  });
});

describe("presence in a cluster", () => {
  it("start-up marks offline only devices no live node holds", async () => {
    const store = createMemoryStore();
    const first = await setup(store);
    const held = (await first.cloud.devices.register({ name: "held" })).device;
    const gone = (await first.cloud.devices.register({ name: "gone" })).device;
    const long = first.clock.now() - 60_000;
    for (const id of [held.id, gone.id])
      await store.devices.setPresence(id, { online: true, connectedAt: long, lastSeenAt: long });
    const bus = new PresenceBus("late");
    bus.elsewhere.set(held.id, "other");
    await setup(store, bus);
    expect((await store.devices.get(held.id))?.online).toBe(true);
    expect((await store.devices.get(gone.id))?.online).toBe(false);
  });

  it("start-up recovery leaves in-flight commands of held devices to their node", async () => {
    const store = createMemoryStore();
    const first = await setup(store);
    const held = (await first.cloud.devices.register({ name: "held" })).device;
    const now = first.clock.now();
    const inFlight = foreign(held.id, now, { status: "DELIVERED", attempts: 1, deadline: now + 60_000 });
    await store.commands.create(inFlight);
    const bus = new PresenceBus("late");
    bus.elsewhere.set(held.id, "other");
    const late = await setup(store, bus);
    expect(late.recovered.requeued).toBe(0);
    expect((await store.commands.get(inFlight.id))?.status).toBe("DELIVERED");
  });

  it("a session orphaned by a dead node is recorded offline, logged and announced", async () => {
    const { cloud, bus, store, events } = await setup();
    const { device } = await cloud.devices.register({ name: "d" });
    await store.devices.setPresence(device.id, { online: true, connectedAt: 1, lastSeenAt: 2 });
    await bus.reap({ deviceId: device.id, nodeId: "dead", sessionId: "s-1", connectedAt: 1 });
    expect((await store.devices.get(device.id))?.online).toBe(false);
    expect(events.at(-1)).toMatchObject({
      type: "presence",
      deviceId: device.id,
      online: false,
      reason: "connection_lost",
      nodeId: "dead",
      sessionId: "s-1",
    });
    await cloud.eventLog.flush();
    const log = await store.events.list(device.id, { kinds: ["disconnected"] });
    expect(log.items[0]).toMatchObject({ reason: "connection_lost" });
  });

  it("a closed Cloud takes no orphans from the bus it leaves behind", async () => {
    const store = createMemoryStore();
    const bus = new PresenceBus("here");
    const { cloud } = await setup(store, bus);
    const { device } = await cloud.devices.register({ name: "d" });
    await store.devices.setPresence(device.id, { online: true, connectedAt: 1, lastSeenAt: 2 });
    await cloud.close({ graceMs: 0 });
    const announced: CloudEvent[] = [];
    bus.subscribe((event) => announced.push(event));
    await bus.reap({ deviceId: device.id, nodeId: "dead", sessionId: "s-1", connectedAt: 1 });
    expect((await store.devices.get(device.id))?.online).toBe(true);
    expect(announced).toEqual([]);
  });

  it("an orphan that is back on another node is left alone", async () => {
    const { cloud, bus, store, events } = await setup();
    const { device } = await cloud.devices.register({ name: "d" });
    await store.devices.setPresence(device.id, { online: true, connectedAt: 1, lastSeenAt: 2 });
    bus.elsewhere.set(device.id, "other");
    await bus.reap({ deviceId: device.id, nodeId: "dead", sessionId: "s-1", connectedAt: 1 });
    expect((await store.devices.get(device.id))?.online).toBe(true);
    expect(events.filter((e) => e.type === "presence")).toEqual([]);
  });

  it("a device that disconnected here but is already back on another node is not stored offline", async () => {
    const { online, store, clock } = await setup();
    const { device, conn } = await online();
    await settle(20);
    // It reconnected elsewhere before this node noticed the loss: that node stored it online.
    const back = clock.now() + 500;
    await store.devices.setPresence(device.id, { online: true, connectedAt: back, lastSeenAt: back });
    conn.hangUp(1006);
    await settle(20);
    expect(await store.devices.get(device.id)).toMatchObject({ online: true, connectedAt: back });
  });

  it("a device that disconnected for good is stored offline", async () => {
    const { online, store } = await setup();
    const { device, conn } = await online();
    conn.hangUp(1006);
    await settle(20);
    expect((await store.devices.get(device.id))?.online).toBe(false);
  });
});

describe("latest status across nodes", () => {
  it("a report received on another node refreshes the latest this node remembers", async () => {
    const { cloud, online, bus } = await setup();
    const { device, conn } = await online();
    conn.sendPdu({ type: "status", ts: 1_000, data: { n: 1 } });
    await settle();
    expect((await cloud.status.latest(device.id))?.ts).toBe(1_000);
    const newer = { deviceId: device.id, ts: 2_000, receivedAt: 2_000, data: { n: 2 } };
    await bus.publish({ type: "status", deviceId: device.id, at: 2_000, status: newer });
    expect(await cloud.status.latest(device.id)).toEqual(newer);
    const older = { ...newer, ts: 500 };
    await bus.publish({ type: "status", deviceId: device.id, at: 2_100, status: older });
    expect((await cloud.status.latest(device.id))?.ts).toBe(2_000);
  });
});
