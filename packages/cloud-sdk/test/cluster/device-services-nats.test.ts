import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMemoryStore } from "../../src/index.js";
import { createTeardown } from "../../src/testing/teardown.js";
import { makeCloud } from "../support/cloud-fixture.js";
import { NatsTestCluster, until } from "./support/nats-test-server.js";

/**
 * Device views and deletion across two nodes over the real NATS (one shared store): what
 * one node knows of a device on the other comes through the bus, not only the store.
 */
describe("device views and deletion across nodes (real NATS)", () => {
  let cluster: NatsTestCluster;
  const teardown = createTeardown(afterAll);
  beforeAll(async () => {
    cluster = await NatsTestCluster.create();
    teardown.add(() => cluster.drop());
  });

  it("a node sees a device online on another before any presence is persisted; deleting it anywhere forgets its status everywhere", async () => {
    const store = createMemoryStore();
    const a = await makeCloud({ bus: await cluster.bus("a") }, store);
    const b = await makeCloud({ bus: await cluster.bus("b"), clock: a.clock }, store);
    for (const { cloud } of [a, b]) teardown.add(() => cloud.close({ graceMs: 0 }));
    // Presence is never persisted: node b can only learn it from node a's presence event.
    vi.spyOn(store.devices, "setPresence").mockResolvedValue(undefined);
    const { device, conn } = await a.online("on-a");
    await until(async () => (await b.cloud.devices.view(device.id)).online, "b sees it online");
    expect((await store.devices.get(device.id))?.online).toBe(false);

    conn.sendPdu({ type: "status", ts: a.clock.now(), data: { uptimeS: 9 } });
    expect(await a.cloud.status.latest(device.id)).toBeDefined();
    await b.cloud.devices.delete(device.id);
    await until(() => conn.closedWith !== undefined, "the session on a closed");
    await until(async () => (await a.cloud.status.latest(device.id)) === undefined, "a forgot the status");
    await expect(a.cloud.devices.view(device.id)).rejects.toMatchObject({ code: "device_not_found" });
  });
});
