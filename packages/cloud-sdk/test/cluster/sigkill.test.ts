import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudEvent } from "../../src/index.js";
import { MysqlTestDatabase } from "../repos/mysql-test-server.js";
import { type ChildNode, removeBundle, spawnNode, stopNode } from "./support/child-nodes.js";
import { type ClusterNode, startClusterNode } from "./support/cluster-node.js";
import { NATS_TEST_URL, NatsTestCluster, until } from "./support/nats-test-server.js";
import { WsAgent } from "./support/ws-agent.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Issue #7's failure test: three hub nodes in child processes (devices spread over them)
 * plus an API node in this process, over the real NATS and MariaDB. One hub is SIGKILLed
 * while commands flow.
 */
describe("SIGKILL one hub node of three (child processes, real NATS, real MariaDB)", () => {
  let database: MysqlTestDatabase;
  let nats: NatsTestCluster;
  let api: ClusterNode;
  const hubs: ChildNode[] = [];
  const apiEvents: CloudEvent[] = [];

  beforeAll(async () => {
    database = await MysqlTestDatabase.create();
    nats = await NatsTestCluster.create();
    api = await startClusterNode({
      nodeId: "api",
      storeUrl: database.url,
      natsUrl: NATS_TEST_URL,
      prefix: nats.prefix,
    });
    api.cloud.events.on("event", (event) => apiEvents.push(event));
    const env = { STORE_URL: database.url, NATS_URL: NATS_TEST_URL, PREFIX: nats.prefix };
    hubs.push(...(await Promise.all(["n0", "n1", "n2"].map((id) => spawnNode(id, env)))));
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(hubs.map(stopNode));
    await api?.stop().catch(() => undefined);
    await nats?.drop();
    await database?.drop();
    await removeBundle();
  });

  it("devices move to the survivors; queued and in-flight commands are delivered; nothing stays non-terminal", async () => {
    const { broker, devices } = api.cloud;
    const live = new Set(["n0", "n1", "n2"]);
    const liveUrls = () => hubs.filter((h) => live.has(h.nodeId)).map((h) => h.url);
    const allUrls = () => hubs.map((h) => h.url);

    // 12 devices, 4 on each hub.
    const agents: WsAgent[] = [];
    for (let i = 0; i < 12; i++) {
      const { device, secret } = await devices.register({ name: `d${i}` });
      // Before the kill they stay where they are put; after it they cycle over the survivors.
      const agent = new WsAgent(device.id, secret, () => (live.size === 3 ? allUrls() : liveUrls()));
      await agent.connect(i % 3);
      agents.push(agent);
    }
    await until(async () => {
      const holders = await Promise.all(agents.map((a) => api.bus.presence.locate(a.deviceId)));
      return holders.every((h, i) => h === `n${i % 3}`);
    }, "every device announced on its hub");
    // Warm up: a round trip to every device from the API node.
    await Promise.all(agents.map((a) => broker.call(a.deviceId, "warm.up", null, { timeoutMs: 5_000 })));

    const onVictim = agents.filter((_, i) => i % 3 === 2);
    const [inflight, gone, moving] = onVictim as [WsAgent, WsAgent, WsAgent, WsAgent];
    // In flight on the victim: acked (DELIVERED), no result yet.
    inflight.behaviour = "ack-only";
    gone.behaviour = "ack-only";
    const inflightCmd = await broker.send(inflight.deviceId, "long.job", null, { timeoutMs: 15_000 });
    const goneCmd = await broker.send(gone.deviceId, "never.answered", null, { timeoutMs: 3_000 });
    await until(async () => {
      const [a, b] = await Promise.all([broker.get(inflightCmd.id), broker.get(goneCmd.id)]);
      return a.status === "DELIVERED" && b.status === "DELIVERED";
    }, "both delivered on the victim");
    inflight.behaviour = "answer"; // it answers the redelivery on its next hub
    gone.stayDown(); // this device dies with its hub and never comes back

    // Load: commands with a TTL to every other device, before, during and after the kill.
    const targets = agents.filter((a) => a !== gone);
    // Sends are not awaited one by one: one that raced the kill waits out the bus timeout.
    const sends: Array<Promise<{ id: string }>> = [];
    let loading = true;
    const load = (async () => {
      for (let n = 0; loading; n++) {
        const target = targets[n % targets.length] as WsAgent;
        sends.push(broker.send(target.deviceId, "load", { n }, { ttlMs: 30_000, timeoutMs: 10_000 }));
        await sleep(10);
      }
    })();
    await sleep(200);

    const victim = hubs[2] as ChildNode;
    victim.process.kill("SIGKILL");
    live.delete("n2");
    await victim.exited;
    // Queued for a device of the dead hub while it is still finding a new one.
    const queued = await broker.send(moving.deviceId, "after.kill", null, {
      ttlMs: 30_000,
      timeoutMs: 10_000,
    });

    // Every device but the one that went down is back, on the survivors.
    await until(
      async () => {
        const holders = await Promise.all(targets.map((a) => api.bus.presence.locate(a.deviceId)));
        return holders.every((h) => h === "n0" || h === "n1");
      },
      "every device back on a survivor",
      15_000,
    );
    await sleep(300);
    loading = false;
    await load;
    const loadIds = (await Promise.all(sends)).map((c) => c.id);

    // The in-flight command was redelivered on the device's new hub (same id) and answered.
    const inflightFinal = await broker.wait(inflightCmd.id, 10_000);
    expect(inflightFinal.status).toBe("SUCCEEDED");
    expect(inflightFinal.attempts).toBeGreaterThanOrEqual(2);
    expect(inflight.cmds.filter((c) => c.id === inflightCmd.id).length).toBeGreaterThanOrEqual(2);
    // The command queued for a device of the dead hub was delivered.
    expect((await broker.wait(queued.id, 10_000)).status).toBe("SUCCEEDED");
    // Every command of the load succeeded, whichever hub its device was on.
    const outcomes = await Promise.all(loadIds.map((id) => broker.wait(id, 10_000)));
    expect(outcomes.filter((c) => c.status !== "SUCCEEDED").map((c) => [c.id, c.status])).toEqual([]);
    expect(loadIds.length).toBeGreaterThan(20);
    for (const agent of targets) {
      expect((await api.store.devices.get(agent.deviceId))?.online).toBe(true);
    }

    // The device that went down with its hub: reaped as offline, seen on the API node.
    await until(
      () =>
        apiEvents.some(
          (e) => e.type === "presence" && e.deviceId === gone.deviceId && !e.online && e.nodeId === "n2",
        ),
      "the lost device's offline presence",
      10_000,
    );
    const lost = apiEvents.find((e) => e.type === "presence" && e.deviceId === gone.deviceId && !e.online);
    expect(lost).toMatchObject({ reason: "connection_lost" });
    expect((await api.store.devices.get(gone.deviceId))?.online).toBe(false);
    // Its command ends TIMED_OUT at its deadline, though the node that sent it is dead.
    const goneFinal = await broker.wait(goneCmd.id, 10_000);
    expect(goneFinal).toMatchObject({ status: "TIMED_OUT", error: { code: "result_timeout" } });

    // Nothing is left non-terminal.
    expect(await api.store.commands.listNonTerminal()).toEqual([]);
    for (const agent of agents) await agent.stop();
  });
});
