import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore, type Store } from "../../src/index.js";
import { type ClusterNode, startClusterNode } from "./support/cluster-node.js";
import { NATS_TEST_URL, NatsTestCluster, until } from "./support/nats-test-server.js";
import { WsAgent } from "./support/ws-agent.js";

/**
 * Two nodes over the real NATS sharing one store: the node that created a job drives it
 * under a lease in NATS KV; when it dies (no release), the other takes the job over once the
 * lease lapsed and finishes it, no device executing it twice.
 */
describe("job leases: failover to another node (real NATS)", () => {
  let nats: NatsTestCluster;
  let store: Store;
  const nodes: ClusterNode[] = [];

  beforeAll(async () => {
    nats = await NatsTestCluster.create();
    store = createMemoryStore();
    for (const nodeId of ["driver", "standby"])
      nodes.push(
        await startClusterNode({
          nodeId,
          store,
          natsUrl: NATS_TEST_URL,
          prefix: nats.prefix,
          jobLeaseTtlMs: 1_000,
        }),
      );
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop().catch(() => undefined);
    await nats?.drop();
  });

  it("an operator action on the node that does not drive the job: the driver follows it", async () => {
    const [driver, standby] = nodes as [ClusterNode, ClusterNode];
    const agents: WsAgent[] = [];
    for (let i = 0; i < 6; i++) {
      const { device, secret } = await standby.cloud.devices.register({ name: `op-${i}` });
      const agent = new WsAgent(device.id, secret, () => [standby.url]);
      await agent.connect(0);
      agents.push(agent);
    }
    const job = await driver.cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: agents.map((a) => a.deviceId) },
      rollout: { maxPerMinute: 300, maxInFlight: 1 },
    });
    await until(async () => (await store.jobs.countExecutions(job.id)).SUCCEEDED >= 1, "one execution done");
    expect((await standby.cloud.jobs.pause(job.id)).status).toBe("PAUSED");
    const atPause = await store.jobs.countExecutions(job.id);
    await new Promise((resolve) => setTimeout(resolve, 600)); // three rate slots: none is used
    const later = await store.jobs.countExecutions(job.id);
    expect(later.PENDING).toBe(atPause.PENDING);
    await standby.cloud.jobs.resume(job.id);
    await until(
      async () => (await store.jobs.countExecutions(job.id)).PENDING < atPause.PENDING,
      "dispatching again",
    );
    const canceled = await standby.cloud.jobs.cancel(job.id);
    expect(canceled.status).toBe("CANCELED");
    const final = await until(async () => {
      const c = await store.jobs.countExecutions(job.id);
      return c.PENDING + c.QUEUED + c.SENT + c.DELIVERED === 0 && c;
    }, "every execution ended");
    expect(final.CANCELED).toBeGreaterThan(0);
    expect(final.SUCCEEDED + final.CANCELED).toBe(6);
    // The driver saw the end and let the job go.
    await until(async () => (await driver.cloud.jobs.get(job.id)).status === "CANCELED", "driver follows");
    for (const agent of agents) await agent.stop();
  }, 30_000);

  it("kill the driving node mid-job: the other finishes it, every device ran it exactly once", async () => {
    const [driver, standby] = nodes as [ClusterNode, ClusterNode];
    // The devices (heartbeating agents) are on the standby node: the driver's commands reach them through NATS.
    const agents: WsAgent[] = [];
    for (let i = 0; i < 12; i++) {
      const { device, secret } = await standby.cloud.devices.register({ name: `gw-${i}` });
      const agent = new WsAgent(device.id, secret, () => [standby.url]);
      await agent.connect(0);
      agents.push(agent);
    }
    const devices = agents.map((a) => ({ id: a.deviceId, commands: () => a.cmds.map((c) => c.id) }));
    const job = await driver.cloud.jobs.create({
      method: "system.ping",
      targets: { deviceIds: devices.map((d) => d.id) },
      rollout: { maxPerMinute: 300, maxInFlight: 1 }, // one every 200 ms: the kill lands mid-job
      ttlMs: 60_000,
    });
    await until(async () => (await store.jobs.countExecutions(job.id)).SUCCEEDED >= 3, "3 executions done");

    // The driver dies: its NATS connection drops (its lease is never released) and it stops.
    await driver.bus.close();
    driver.cloud.jobs.close();
    const atDeath = (await store.jobs.countExecutions(job.id)).SUCCEEDED;
    expect(atDeath).toBeLessThan(12);

    const done = await until(async () => {
      const view = await standby.cloud.jobs.get(job.id);
      return view.status === "COMPLETED" && view;
    }, "COMPLETED on the standby node");
    expect(done.counts).toMatchObject({ SUCCEEDED: 12, PENDING: 0 });
    expect(devices.map((d) => new Set(d.commands()).size)).toEqual(Array(12).fill(1));
    for (const d of devices) expect((await store.commands.listByDevice(d.id)).items).toHaveLength(1);
    for (const agent of agents) await agent.stop();
  }, 30_000);
});
