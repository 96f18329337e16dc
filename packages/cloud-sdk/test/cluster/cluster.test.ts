import { CloseCode } from "@cloudedge/protocol";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { CloudEvent, PresenceEvent } from "../../src/index.js";
import { MysqlTestDatabase } from "../repos/mysql-test-server.js";
import { WsDevice } from "../support/ws-device.js";
import { type ClusterNode, startClusterNode } from "./support/cluster-node.js";
import { NATS_TEST_URL, NatsTestCluster, until } from "./support/nats-test-server.js";
import { WsAgent } from "./support/ws-agent.js";

/**
 * Three hub nodes in this process, each with its own NATS connection and MySQL pool, over
 * one real MariaDB and the real NATS: every API path works whichever node the device is on.
 */
describe("a cluster of three nodes (real NATS, real MariaDB)", () => {
  let database: MysqlTestDatabase;
  let nats: NatsTestCluster;
  const nodes: ClusterNode[] = [];
  const events: CloudEvent[][] = [];

  beforeAll(async () => {
    database = await MysqlTestDatabase.create();
    nats = await NatsTestCluster.create();
    for (const nodeId of ["n0", "n1", "n2"]) {
      const node = await startClusterNode({
        nodeId,
        storeUrl: database.url,
        natsUrl: NATS_TEST_URL,
        prefix: nats.prefix,
      });
      const seen: CloudEvent[] = [];
      node.cloud.events.on("event", (event) => seen.push(event));
      nodes.push(node);
      events.push(seen);
    }
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop().catch(() => undefined);
    await nats?.drop();
    await database?.drop();
  });

  const node = (i: number) => nodes[i] as ClusterNode;
  const urls = () => nodes.map((n) => n.url);

  async function agentOn(index: number, name: string): Promise<WsAgent> {
    const { device, secret } = await node(0).cloud.devices.register({ name });
    const agent = new WsAgent(device.id, secret, urls);
    await agent.connect(index);
    await until(
      async () => (await node(0).bus.presence.locate(device.id)) === node(index).nodeId,
      `${name} announced`,
    );
    return agent;
  }

  it("a command round trip succeeds for every pair (API node, device node)", async () => {
    const agents = [await agentOn(0, "on-0"), await agentOn(1, "on-1"), await agentOn(2, "on-2")];
    for (let api = 0; api < 3; api++) {
      for (let at = 0; at < 3; at++) {
        const agent = agents[at] as WsAgent;
        const result = await node(api).cloud.broker.call(agent.deviceId, `m.from${api}`, null, {
          timeoutMs: 5_000,
        });
        expect(result).toEqual({ by: agent.deviceId, method: `m.from${api}` });
      }
    }
    for (const agent of agents) await agent.stop();
  });

  it("a command sent through another node comes back as the holder sent it: no node reads it or lists the queue", async () => {
    const agent = await agentOn(2, "unread");
    // The holder lists the device's queue once per session (at the latest for this first command).
    await node(0).cloud.broker.call(agent.deviceId, "warm.up", null, { timeoutMs: 5_000 });
    const spies = [node(0), node(2)].flatMap((n) => [
      vi.spyOn(n.store.commands, "get"),
      vi.spyOn(n.store.commands, "listQueued"),
    ]);
    agent.behaviour = "ack-only";
    const sent = await node(0).cloud.broker.send(agent.deviceId, "long.job", null, { timeoutMs: 5_000 });
    expect(sent).toMatchObject({ status: "SENT", attempts: 1, deadline: expect.any(Number) });
    agent.behaviour = "answer";
    const final = await node(0).cloud.broker.sendAndWait(agent.deviceId, "quick", null, { timeoutMs: 5_000 });
    expect(final).toMatchObject({ status: "SUCCEEDED", result: { by: agent.deviceId, method: "quick" } });
    for (const spy of spies) {
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    }
    await agent.stop();
  });

  it("events of a device on one node reach every node: presence, status, state, commands", async () => {
    const agent = await agentOn(2, "watched");
    const id = agent.deviceId;
    await until(
      () => events.every((seen) => seen.some((e) => e.type === "presence" && e.deviceId === id && e.online)),
      "presence everywhere",
    );
    const online = events[0]?.find((e): e is PresenceEvent => e.type === "presence" && e.deviceId === id);
    expect(online).toMatchObject({ online: true, reason: "connected", nodeId: "n2" });

    agent.device?.send({ type: "status", ts: Date.now(), data: { cpu: { usagePercent: 7 } } });
    await until(() => events[0]?.some((e) => e.type === "status" && e.deviceId === id), "status on n0");
    await node(1).cloud.broker.call(id, "x", null, { timeoutMs: 5_000 });
    await until(
      () =>
        events[0]?.some((e) => e.type === "command" && e.deviceId === id && e.command.status === "SUCCEEDED"),
      "command outcome on n0",
    );
    await agent.stop();
    await until(
      () => events.every((seen) => seen.some((e) => e.type === "presence" && e.deviceId === id && !e.online)),
      "offline everywhere",
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(
      events.map((seen) => seen.filter((e) => e.type === "presence" && e.deviceId === id).length),
    ).toEqual([2, 2, 2]); // each node saw online and offline exactly once
    expect((await node(0).store.devices.get(id))?.online).toBe(false);
  });

  it("the latest status on a node the device left is refreshed by reports made elsewhere", async () => {
    const agent = await agentOn(0, "moving-status");
    const id = agent.deviceId;
    const t = Date.now();
    agent.device?.send({ type: "status", ts: t, data: { n: 1 } });
    await until(async () => (await node(0).cloud.status.latest(id))?.ts === t, "latest on n0");
    await agent.device?.close();
    await agent.connect(1);
    agent.device?.send({ type: "status", ts: t + 1000, data: { n: 2 } });
    await until(async () => (await node(0).cloud.status.latest(id))?.ts === t + 1000, "n0 refreshed");
    await agent.stop();
  });

  it("a device reconnecting to another node replaces its old session there (4004)", async () => {
    const { device, secret } = await node(0).cloud.devices.register({ name: "mover" });
    const first = await WsDevice.connect(node(0).url, { deviceId: device.id, secret });
    await until(async () => (await node(2).bus.presence.locate(device.id)) === "n0", "held by n0");
    const second = await WsDevice.connect(node(1).url, { deviceId: device.id, secret });
    expect((await first.device.closed).code).toBe(CloseCode.REPLACED);
    expect(node(0).cloud.hub.session(device.id)).toBeUndefined();
    expect(node(1).cloud.hub.session(device.id)?.id).toBe(second.welcome.sessionId);
    await until(async () => (await node(2).bus.presence.locate(device.id)) === "n1", "held by n1");
    const presence = () =>
      events[2]?.filter((e): e is PresenceEvent => e.type === "presence" && e.deviceId === device.id) ?? [];
    await until(() => presence().length === 3, "three presence events on n2");
    expect(
      presence()
        .map((p) => [p.nodeId, p.online, p.reason])
        .sort(),
    ).toEqual([
      ["n0", false, "replaced"],
      ["n0", true, "connected"],
      ["n1", true, "connected"],
    ]);
    await until(async () => (await node(2).store.devices.get(device.id))?.online === true, "stored online");
    // Commands from any node now reach the new session.
    const call = node(2).cloud.broker.call(device.id, "after.move", null, { timeoutMs: 5_000 });
    const cmd = await second.device.next("cmd");
    second.device.send({ type: "result", id: cmd.id, ok: true, data: 1 });
    await expect(call).resolves.toBe(1);
    await second.device.close();
  });

  it("a queued command created on one node is drained by whichever node the device connects to", async () => {
    const { device, secret } = await node(0).cloud.devices.register({ name: "late" });
    const queued = await node(0).cloud.broker.send(device.id, "queued.one", { a: 1 }, { ttlMs: 60_000 });
    expect(queued.status).toBe("QUEUED");
    const waiting = node(0).cloud.broker.wait(queued.id, 10_000);
    const agent = new WsAgent(device.id, secret, urls);
    await agent.connect(2);
    const final = await waiting;
    expect(final).toMatchObject({ status: "SUCCEEDED", result: { by: device.id, method: "queued.one" } });
    await agent.stop();
  });

  it("an offline device's command without a TTL fails at once, on any node", async () => {
    const { device } = await node(0).cloud.devices.register({ name: "offline" });
    await expect(node(1).cloud.broker.send(device.id, "x", null)).rejects.toMatchObject({
      code: "device_offline",
    });
  });

  it("desired state and revocation reach the device on another node", async () => {
    const { device, secret } = await node(0).cloud.devices.register({ name: "stateful" });
    const { device: ws } = await WsDevice.connect(node(1).url, { deviceId: device.id, secret });
    await until(async () => (await node(0).bus.presence.locate(device.id)) === "n1", "held by n1");
    await node(0).cloud.state.patchDesired(device.id, { logLevel: "debug" });
    expect(await ws.next("desired")).toMatchObject({ version: 1, patch: { logLevel: "debug" } });
    await node(2).cloud.devices.rotateSecret(device.id);
    expect((await ws.closed).code).toBe(CloseCode.AUTH_REVOKED);
  });

  it("a command in flight follows its device to another node and is redelivered there", async () => {
    const { device, secret } = await node(0).cloud.devices.register({ name: "inflight" });
    const agent = new WsAgent(device.id, secret, urls);
    agent.behaviour = "ack-only";
    await agent.connect(0);
    const sent = await node(1).cloud.broker.send(device.id, "long.job", null, { timeoutMs: 10_000 });
    await until(async () => (await node(1).store.commands.get(sent.id))?.status === "DELIVERED", "delivered");
    const first = agent.cmds.find((c) => c.id === sent.id);
    agent.behaviour = "answer";
    await agent.device?.close(); // dropped; it comes back on another hub
    await agent.connect(2);
    const final = await node(1).cloud.broker.wait(sent.id, 10_000);
    expect(final).toMatchObject({ status: "SUCCEEDED", attempts: 2 });
    const again = agent.cmds.filter((c) => c.id === sent.id);
    expect(again).toHaveLength(2);
    expect(again[1]?.deadline).toBe(first?.deadline);
    await agent.stop();
  });

  it("a node joining later leaves devices held by others online and their commands in flight alone", async () => {
    const { device, secret } = await node(0).cloud.devices.register({ name: "undisturbed" });
    const agent = new WsAgent(device.id, secret, urls);
    agent.behaviour = "ack-only";
    await agent.connect(0);
    await until(async () => (await node(1).bus.presence.locate(device.id)) === "n0", "held by n0");
    const sent = await node(0).cloud.broker.send(device.id, "keep.running", null, { timeoutMs: 20_000 });
    await until(async () => (await node(0).store.commands.get(sent.id))?.status === "DELIVERED", "delivered");
    // Make the device look connected long ago, so start-up reconciliation does look at it.
    await database.query("UPDATE devices SET connected_at = ? WHERE id = ?", [
      Date.now() - 60_000,
      device.id,
    ]);
    const late = await startClusterNode({
      nodeId: "n3",
      storeUrl: database.url,
      natsUrl: NATS_TEST_URL,
      prefix: nats.prefix,
    });
    try {
      expect((await late.store.commands.get(sent.id))?.status).toBe("DELIVERED");
      expect((await late.store.devices.get(device.id))?.online).toBe(true);
      expect(agent.cmds.filter((c) => c.id === sent.id)).toHaveLength(1);
    } finally {
      await late.stop();
      await agent.stop();
    }
  });
});
