import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqliteStore } from "../../src/sqlite.js";
import { type ClusterNode, startClusterNode } from "./support/cluster-node.js";
import { NatsTestCluster, until } from "./support/nats-test-server.js";
import { WsAgent } from "./support/ws-agent.js";

/**
 * Two nodes on ONE machine sharing one SQLite file (WAL, local disk) — what `--workers N`
 * with the default store does. Supported for small fleets on one machine only (see the
 * cluster section of docs/operations.md); this checks it works end to end.
 */
describe("two nodes sharing one SQLite file on one machine", () => {
  let dir: string;
  let nats: NatsTestCluster;
  const nodes: ClusterNode[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cloudedge-sqlite-cluster-"));
    nats = await NatsTestCluster.create();
    for (const nodeId of ["w0", "w1"]) {
      const store = await createSqliteStore({ path: join(dir, "cloudedge.db") });
      nodes.push(await startClusterNode({ nodeId, store, bus: await nats.bus(nodeId) }));
    }
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await nats?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("registers on one node, connects to the other, and runs commands from both", async () => {
    const [w0, w1] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const { device, secret } = await w0.cloud.devices.register({ name: "shared" });
    const agent = new WsAgent(device.id, secret, () => nodes.map((n) => n.url));
    await agent.connect(1);
    await until(async () => (await w0.bus.presence.locate(device.id)) === "w1", "held by w1");
    for (const node of nodes) {
      await expect(
        node.cloud.broker.call(device.id, "ping", null, { timeoutMs: 5_000 }),
      ).resolves.toMatchObject({
        by: device.id,
      });
    }
    expect((await w0.store.devices.get(device.id))?.online).toBe(true);
    await agent.stop();
    await until(async () => (await w1.store.devices.get(device.id))?.online === false, "stored offline");
  });
});
