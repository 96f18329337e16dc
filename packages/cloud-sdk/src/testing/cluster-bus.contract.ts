import assert from "node:assert/strict";
import type { BusReply, BusRequest, BusRequestKind, ClusterBus } from "../cluster/cluster-bus.js";
import type { CloudEvent } from "../events.js";
import type { TestHarness } from "./harness.js";

/** The buses of one cluster under test, made fresh for each test. */
export interface ClusterBusCluster {
  /** A new node (bus) of this cluster. */
  node(nodeId: string): Promise<ClusterBus>;
  /** Closes the buses still open and removes what the cluster left behind. */
  close(): Promise<void>;
}

/** A ClusterBus implementation as the contract suite runs it. */
export interface ClusterBusImplementation {
  /**
   * Whether its buses span processes (`presence.shared`). Only then do the cases with two
   * nodes run: a bus that serves one process has no other node to reach.
   */
  shared: boolean;
  /** A new cluster (for NATS: a subject/bucket namespace of its own). */
  cluster(): Promise<ClusterBusCluster> | ClusterBusCluster;
}

type Asked = { kind: BusRequestKind; deviceId: string; request: BusRequest };

const held = (sessionId: string) => ({ sessionId, connectedAt: 1_700_000_000_000 });

const event = (deviceId: string, online = true): CloudEvent => ({
  type: "presence",
  deviceId,
  at: 1,
  online,
  reason: online ? "connected" : "client_closed",
  sessionId: `s-${deviceId}`,
  nodeId: "n",
});

/** Polls `check` until it holds; fails after `timeoutMs` (cross-node hops take a moment). */
async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The ClusterBus contract (docs/architecture.md, "ClusterBus"), runner-agnostic as aedes's
 * abstract persistence suite is: call it with your runner's describe/it/beforeEach/afterEach
 * and a factory of clusters of your bus; it asserts with `node:assert/strict`.
 * LocalClusterBus and NatsClusterBus both run it.
 */
export function describeClusterBusContract(
  harness: TestHarness,
  name: string,
  implementation: ClusterBusImplementation,
): void {
  const { describe, it, beforeEach, afterEach } = harness;

  describe(`ClusterBus contract: ${name}`, () => {
    let cluster: ClusterBusCluster;
    beforeEach(async () => {
      cluster = await implementation.cluster();
    });
    afterEach(async () => {
      await cluster.close();
    });

    /** A node whose handlers, one per kind, record what they are asked and answer ok. */
    async function node(nodeId: string) {
      const bus = await cluster.node(nodeId);
      const asked: Asked[] = [];
      const kinds: BusRequestKind[] = ["deliver", "desired", "disconnect"];
      for (const kind of kinds) {
        bus.serve(kind, async (deviceId, request) => {
          asked.push({ kind, deviceId, request });
          return { ok: true };
        });
      }
      return { bus, asked };
    }

    describe("events", () => {
      it("delivers a node's own events to its subscribers synchronously, before publish returns", async () => {
        const bus = await cluster.node("ev-own");
        const seen: CloudEvent[][] = [[], []];
        bus.subscribe((e) => seen[0]?.push(e));
        bus.subscribe((e) => seen[1]?.push(e));
        const published = bus.publish(event("100"));
        assert.deepEqual(seen, [[event("100")], [event("100")]]);
        await published;
      });

      it("a throwing subscriber stops neither the others nor the publisher", async () => {
        const bus = await cluster.node("ev-throw");
        const seen: CloudEvent[] = [];
        bus.subscribe(() => {
          throw new Error("a broken subscriber");
        });
        bus.subscribe((e) => seen.push(e));
        await bus.publish(event("101"));
        assert.deepEqual(seen, [event("101")]);
      });

      it("an unsubscribed listener hears nothing more", async () => {
        const bus = await cluster.node("ev-unsub");
        const seen: CloudEvent[] = [];
        const unsubscribe = bus.subscribe((e) => seen.push(e));
        await bus.publish(event("102"));
        unsubscribe();
        await bus.publish(event("103"));
        assert.deepEqual(seen, [event("102")]);
      });
    });

    describe("requests", () => {
      it("routes a request for a held device to the handler of its kind; no_responders once released", async () => {
        const { bus, asked } = await node("rq-kinds");
        assert.equal(await bus.request("200", { kind: "deliver" }), "no_responders");
        await bus.hold("200", held("s-200"));
        const desired: BusRequest = { kind: "desired", version: 2, patch: { x: 1 } };
        assert.deepEqual(await bus.request("200", { kind: "deliver" }), { ok: true });
        assert.deepEqual(await bus.request("200", desired), { ok: true });
        assert.deepEqual(asked, [
          { kind: "deliver", deviceId: "200", request: { kind: "deliver" } },
          { kind: "desired", deviceId: "200", request: desired },
        ]);
        await bus.release("200");
        assert.equal(await bus.request("200", { kind: "deliver" }), "no_responders");
      });

      it("passes the handler's reply back as it is", async () => {
        const bus = await cluster.node("rq-reply");
        const reply: BusReply = { ok: true, saved: true };
        bus.serve("deliver", async () => reply);
        await bus.hold("201", held("s-201"));
        assert.deepEqual(await bus.request("201", { kind: "deliver", unsaved: true }), reply);
      });

      it("answers {ok: false} for a held device when no one serves the kind", async () => {
        const bus = await cluster.node("rq-unserved");
        bus.serve("deliver", async () => ({ ok: true }));
        await bus.hold("202", held("s-202"));
        assert.deepEqual(await bus.request("202", { kind: "desired", version: 1, patch: {} }), { ok: false });
      });

      it("a handler that throws makes the request reject; request itself never throws", async () => {
        const bus = await cluster.node("rq-throws");
        bus.serve("deliver", () => {
          throw new Error("boom");
        });
        await bus.hold("204", held("s-204"));
        let pending: Promise<unknown> = Promise.resolve();
        assert.doesNotThrow(() => {
          pending = bus.request("204", { kind: "deliver" });
        });
        await assert.rejects(pending, /boom/);
      });

      it("refuses a second handler for a kind, and takes a new one once the first stopped serving", async () => {
        const bus = await cluster.node("rq-twice");
        const stop = bus.serve("deliver", async () => ({ ok: false }));
        assert.throws(() => bus.serve("deliver", async () => ({ ok: true })), /deliver/);
        stop();
        bus.serve("deliver", async () => ({ ok: true }));
        await bus.hold("203", held("s-203"));
        assert.deepEqual(await bus.request("203", { kind: "deliver" }), { ok: true });
      });

      it("a disconnect reaches the node that holds the device", async () => {
        const { bus, asked } = await node("rq-disconnect");
        await bus.hold("204", held("s-204"));
        const disconnect: BusRequest = { kind: "disconnect", closeCode: 4006, reason: "auth_revoked" };
        assert.deepEqual(await bus.request("204", disconnect), { ok: true });
        await eventually(() => asked.length === 1, "the holder asked");
        assert.deepEqual(asked, [{ kind: "disconnect", deviceId: "204", request: disconnect }]);
      });
    });

    describe("presence", () => {
      it(`says whether it spans processes (shared: ${implementation.shared})`, async () => {
        const bus = await cluster.node("pr-shared");
        assert.equal(bus.presence.shared, implementation.shared);
      });

      it("locates a device at this node while it holds it, nowhere after", async () => {
        const bus = await cluster.node("pr-own");
        assert.equal(await bus.presence.locate("300"), undefined);
        await bus.hold("300", held("s-300"));
        assert.equal(await bus.presence.locate("300"), "pr-own");
        await bus.release("300");
        assert.equal(await bus.presence.locate("300"), undefined);
      });
    });

    it("closes once, and a second close is harmless", async () => {
      const bus = await cluster.node("close-twice");
      await bus.hold("400", held("s-400"));
      await bus.close();
      await bus.close();
    });

    if (!implementation.shared) return;

    describe("across nodes", () => {
      it("routes a request to the node holding the device, and only there", async () => {
        const a = await node("x-a");
        const b = await node("x-b");
        assert.equal(await a.bus.request("500", { kind: "deliver" }), "no_responders");
        await b.bus.hold("500", held("s-500"));
        assert.deepEqual(await a.bus.request("500", { kind: "deliver" }), { ok: true });
        assert.deepEqual(b.asked, [{ kind: "deliver", deviceId: "500", request: { kind: "deliver" } }]);
        assert.deepEqual(a.asked, []);
        await b.bus.release("500");
        assert.equal(await a.bus.request("500", { kind: "deliver" }), "no_responders");
      });

      it("a disconnect reaches every node holding the device while two overlap", async () => {
        const a = await node("x-old");
        const b = await node("x-new");
        const c = await node("x-bystander");
        await a.bus.hold("501", held("old"));
        await b.bus.hold("501", held("new"));
        const disconnect: BusRequest = {
          kind: "disconnect",
          closeCode: 4004,
          reason: "replaced",
          keepSessionId: "new",
        };
        assert.deepEqual(await b.bus.request("501", disconnect), { ok: true });
        await eventually(() => a.asked.length === 1 && b.asked.length === 1, "both holders asked");
        assert.deepEqual(a.asked[0]?.request, disconnect);
        assert.deepEqual(c.asked, []);
      });

      it("fans events out to every node's subscribers exactly once", async () => {
        const buses = await Promise.all(["x-e1", "x-e2", "x-e3"].map((id) => cluster.node(id)));
        const seen = buses.map(() => [] as CloudEvent[]);
        for (const [i, bus] of buses.entries()) bus.subscribe((e) => seen[i]?.push(e));
        await buses[0]?.publish(event("502"));
        await eventually(() => seen.every((events) => events.length >= 1), "every node saw it");
        await new Promise((resolve) => setTimeout(resolve, 200)); // room for a duplicate to show
        assert.deepEqual(seen, [[event("502")], [event("502")], [event("502")]]);
      });

      it("locates the live holder; a late release never deletes a newer holder's entry", async () => {
        const a = await node("x-loc-a");
        const b = await node("x-loc-b");
        await a.bus.hold("503", held("s-a"));
        assert.equal(await b.bus.presence.locate("503"), "x-loc-a");
        await b.bus.hold("503", held("s-b")); // the device moved before a noticed
        await a.bus.release("503");
        assert.equal(await a.bus.presence.locate("503"), "x-loc-b");
        await b.bus.release("503");
        assert.equal(await a.bus.presence.locate("503"), undefined);
      });

      it("a node that closes releases what it held", async () => {
        const leaving = await cluster.node("x-leaving");
        const other = await cluster.node("x-other");
        await leaving.hold("504", held("s-504"));
        await leaving.close();
        assert.equal(await other.presence.locate("504"), undefined);
        assert.equal(await other.request("504", { kind: "deliver" }), "no_responders");
      });
    });
  });
}
