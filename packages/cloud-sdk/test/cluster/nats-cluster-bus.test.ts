import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceToken, keyToDeviceId } from "../../src/cluster/nats-names.js";
import type { BusRequest, CloudEvent, OrphanedSession } from "../../src/index.js";
import type { NatsClusterBus } from "../../src/nats.js";
import { NatsClusterBus as Bus } from "../../src/nats.js";
import { NatsTestCluster, serveEveryKind, until } from "./support/nats-test-server.js";

const session = (sessionId: string) => ({ sessionId, connectedAt: 1_700_000_000_000 });

/**
 * What the NATS ClusterBus does beyond the contract (cluster-bus.contract.test.ts runs that):
 * timeouts, event batching across versions, reaping, names — against the real NATS server.
 */
describe("NatsClusterBus (real NATS)", () => {
  let cluster: NatsTestCluster;
  beforeAll(async () => {
    cluster = await NatsTestCluster.create();
  });
  const extra: NatsTestCluster[] = [];
  afterAll(async () => {
    await cluster?.drop();
    for (const own of extra) await own.drop();
  });

  /** A bus whose handler records what it is asked and answers ok. */
  async function node(nodeId: string, handle?: (deviceId: string, request: BusRequest) => Promise<boolean>) {
    const bus = await cluster.bus(nodeId);
    const requests: Array<{ deviceId: string; request: BusRequest }> = [];
    serveEveryKind(bus, async (deviceId, request) => {
      requests.push({ deviceId, request });
      return { ok: handle ? await handle(deviceId, request) : true };
    });
    return { bus, requests };
  }

  it("a holder that does not answer in time gives {ok: false}, not no_responders", async () => {
    const slow = await node("slow", () => new Promise((resolve) => setTimeout(() => resolve(true), 500)));
    const asker = await node("asker");
    await slow.bus.hold("3003");
    expect(await asker.bus.request("3003", { kind: "deliver" }, 100)).toEqual({ ok: false });
  });

  it("the events of one turn travel as one message, in order; a batch never outgrows the payload limit", async () => {
    const [from, to] = await Promise.all(["b1", "b2"].map((id) => cluster.bus(id, { heartbeatMs: 200 })));
    // Batches go out once every live node has said it reads them (a heartbeat or two).
    await until(() => from?.batching === true, "every node reads batches");
    const seen: CloudEvent[] = [];
    to?.subscribe((event) => seen.push(event));
    const raw = await cluster.connection();
    const messages: number[] = [];
    raw.subscribe(`${cluster.prefix}.ev.*`, { callback: (_err, msg) => messages.push(msg.data.length) });
    await raw.flush();
    const event = (n: number, padding = ""): CloudEvent => {
      const deviceId = String(7000 + n);
      return {
        type: "status",
        deviceId,
        at: n,
        status: { deviceId, ts: n, receivedAt: n, data: { padding } },
      };
    };
    const burst = Array.from({ length: 50 }, (_, n) => event(n));
    for (const e of burst) void from?.publish(e);
    await until(() => seen.length === 50 && messages.length > 0, "the burst arrived");
    expect(seen).toEqual(burst);
    expect(messages).toHaveLength(1);

    // 1 MiB max_payload here: a quarter of it per batch, so four 100 KB events make two messages.
    const big = Array.from({ length: 4 }, (_, n) => event(100 + n, "x".repeat(100_000)));
    seen.length = 0;
    messages.length = 0;
    for (const e of big) void from?.publish(e);
    await until(() => seen.length === 4 && messages.length >= 2, "the big ones arrived");
    expect(seen).toEqual(big);
    expect(messages).toHaveLength(2);
    expect(Math.max(...messages)).toBeLessThanOrEqual((raw.info?.max_payload ?? 0) / 4);
    await raw.close();
  });

  it("while a node of an older version is live, events go one per message, as it reads them", async () => {
    const own = await NatsTestCluster.create();
    extra.push(own);
    const [from, to] = await Promise.all(["o1", "o2"].map((id) => own.bus(id, { heartbeatMs: 200 })));
    await until(() => from?.batching === true, "batching among new nodes");
    // An older node's liveness entry: no capabilities in it.
    const raw = await own.connection();
    const nodes = await raw.jetstream().views.kv(`${own.prefix}_nodes`);
    const older = setInterval(
      () => void nodes.put("old-1", JSON.stringify({ node: "old", at: Date.now() })),
      100,
    );
    try {
      await until(() => from?.batching === false, "an older node seen");
      const seen: CloudEvent[] = [];
      to?.subscribe((event) => seen.push(event));
      const messages: string[] = [];
      raw.subscribe(`${own.prefix}.ev.*`, { callback: (_err, msg) => messages.push(msg.string()) });
      await raw.flush();
      const burst: CloudEvent[] = Array.from({ length: 5 }, (_, n) => {
        const deviceId = String(8000 + n);
        return { type: "status", deviceId, at: n, status: { deviceId, ts: n, receivedAt: n, data: {} } };
      });
      for (const e of burst) void from?.publish(e);
      await until(() => seen.length === 5 && messages.length === 5, "one message each");
      expect(seen).toEqual(burst);
      expect(messages.map((m) => JSON.parse(m))).toEqual(burst); // what an older node decodes
    } finally {
      clearInterval(older);
      await raw.close();
    }
  });

  it("reaps the sessions of a node that died without leaving, reporting each once", async () => {
    // A namespace of its own: every node of a real cluster handles orphans, here only these.
    const own = await NatsTestCluster.create();
    extra.push(own);
    const connection = await own.connection();
    const doomed = await Bus.connect({
      connection,
      prefix: own.prefix,
      nodeId: "doomed",
      heartbeatMs: 200,
      nodeTtlMs: 1_000,
    });
    const survivors = [await own.bus("s1"), await own.bus("s2")];
    const orphans: OrphanedSession[] = [];
    for (const bus of survivors) bus.presence.onOrphaned(async (orphan) => void orphans.push(orphan));
    await doomed.hold("6006", session("sess-6006"));
    await doomed.hold("7007", session("sess-7007"));
    await survivors[0]?.hold("8008", session("sess-8008"));
    expect(await survivors[1]?.presence.locate("6006")).toBe("doomed");

    await connection.close(); // the process is gone: no release, no goodbye
    // Its subscriptions die with its connection at once …
    await until(
      async () => (await survivors[0]?.request("6006", { kind: "deliver" }, 200)) === "no_responders",
      "no responders",
    );
    // … and its presence entries once its liveness entry expired.
    await until(() => orphans.length >= 2, "orphans reaped");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(orphans.map((o) => o.deviceId).sort()).toEqual(["6006", "7007"]);
    expect(orphans.find((o) => o.deviceId === "6006")).toMatchObject({
      nodeId: "doomed",
      sessionId: "sess-6006",
      connectedAt: 1_700_000_000_000,
    });
    expect(await survivors[1]?.presence.locate("6006")).toBeUndefined();
    expect(await survivors[1]?.presence.locate("8008")).toBe("s1");
    expect(survivors[0]?.liveNodes.has(doomed.instance)).toBe(false);
    await doomed.close();
  });

  it("connecting to an unreachable NATS rejects", async () => {
    await expect(
      Bus.connect({ servers: "nats://127.0.0.1:1", connectionOptions: { timeout: 500 } }),
    ).rejects.toThrow();
  });

  it("maps any device id to one subject token and back", () => {
    for (const id of ["1234567890123456789", "dev_1-a", "a.b", "x y*>", "ü"]) {
      const token = deviceToken(id);
      expect(token).toMatch(/^[A-Za-z0-9_=-]+$/);
      expect(keyToDeviceId(token)).toBe(id);
    }
    expect(deviceToken("a.b")).not.toBe(deviceToken("a_b"));
  });
});

export type { NatsClusterBus };
