import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceToken, keyToDeviceId } from "../../src/cluster/nats-names.js";
import type { BusRequest, CloudEvent, NatsClusterBus, OrphanedSession } from "../../src/index.js";
import { NatsClusterBus as Bus } from "../../src/index.js";
import { NatsTestCluster, serveEveryKind, until } from "./support/nats-test-server.js";

const session = (sessionId: string) => ({ sessionId, connectedAt: 1_700_000_000_000 });

/** The NATS ClusterBus on its own, against the real NATS server (JetStream on). */
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

  it("routes a request to the node holding the device; no_responders when none does", async () => {
    const a = await node("a");
    const b = await node("b");
    expect(await a.bus.request("1001", { kind: "deliver" })).toBe("no_responders");
    await b.bus.hold("1001", session("s-1"));
    expect(await a.bus.request("1001", { kind: "deliver" })).toEqual({ ok: true });
    expect(b.requests).toEqual([{ deviceId: "1001", request: { kind: "deliver" } }]);
    expect(a.requests).toEqual([]);
    // The holder itself is answered locally, without a round trip.
    expect(await b.bus.request("1001", { kind: "desired", version: 2, patch: { x: 1 } })).toEqual({
      ok: true,
    });
    await b.bus.release("1001");
    expect(await a.bus.request("1001", { kind: "deliver" })).toBe("no_responders");
    expect(await b.bus.request("1001", { kind: "deliver" })).toBe("no_responders");
  });

  it("a disconnect reaches every node that holds the device while two overlap", async () => {
    const a = await node("a");
    const b = await node("b");
    const c = await node("c");
    await a.bus.hold("2002", session("old"));
    await b.bus.hold("2002", session("new"));
    const request: BusRequest = {
      kind: "disconnect",
      closeCode: 4004,
      reason: "replaced",
      keepSessionId: "new",
    };
    expect(await b.bus.request("2002", request)).toEqual({ ok: true });
    await until(() => a.requests.length === 1 && b.requests.length === 1, "both holders asked");
    expect(a.requests[0]?.request).toEqual(request);
    expect(c.requests).toEqual([]);
  });

  it("a holder that does not answer in time gives {ok: false}, not no_responders", async () => {
    const slow = await node("slow", () => new Promise((resolve) => setTimeout(() => resolve(true), 500)));
    const asker = await node("asker");
    await slow.bus.hold("3003");
    expect(await asker.bus.request("3003", { kind: "deliver" }, 100)).toEqual({ ok: false });
  });

  it("fans events out to every node's subscribers exactly once, the publisher's own included", async () => {
    const nodes = await Promise.all(["e1", "e2", "e3"].map((id) => cluster.bus(id)));
    const seen = nodes.map(() => [] as CloudEvent[]);
    for (const [i, bus] of nodes.entries()) bus.subscribe((event) => seen[i]?.push(event));
    const event: CloudEvent = {
      type: "presence",
      deviceId: "4004",
      at: 1,
      online: true,
      reason: "connected",
      sessionId: "s",
      nodeId: "e1",
    };
    await nodes[0]?.publish(event);
    expect(seen[0]).toEqual([event]); // synchronously, before any network hop
    await until(() => seen.every((events) => events.length >= 1), "every node saw it");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual([[event], [event], [event]]);
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

  it("locate names the live holder; a late release never deletes a newer holder's entry", async () => {
    const a = await node("loc-a");
    const b = await node("loc-b");
    expect(await a.bus.presence.locate("5005")).toBeUndefined();
    await a.bus.hold("5005", session("s-a"));
    expect(await b.bus.presence.locate("5005")).toBe("loc-a");
    await b.bus.hold("5005", session("s-b")); // the device moved to b before a noticed
    await a.bus.release("5005");
    expect(await a.bus.presence.locate("5005")).toBe("loc-b");
    expect(await a.bus.request("5005", { kind: "deliver" })).toEqual({ ok: true });
    await b.bus.release("5005");
    expect(await a.bus.presence.locate("5005")).toBeUndefined();
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

  it("a node leaving gracefully releases what it holds", async () => {
    const leaving = await cluster.bus("leaving");
    const other = await cluster.bus("other");
    await leaving.hold("9009");
    await leaving.close();
    expect(await other.presence.locate("9009")).toBeUndefined();
    expect(await other.request("9009", { kind: "deliver" })).toBe("no_responders");
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
