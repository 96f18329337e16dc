import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusRequest } from "../../src/index.js";
import { NatsClusterBus } from "../../src/nats.js";
import { serveEveryKind, until } from "./support/nats-test-server.js";
import { PrivateNats } from "./support/private-nats.js";

/** The bus across a restart of NATS itself, on a nats-server of its own. */
describe("NatsClusterBus across a NATS restart", () => {
  let nats: PrivateNats;
  const buses: NatsClusterBus[] = [];
  beforeAll(async () => {
    nats = await PrivateNats.start();
  });
  afterAll(async () => {
    await Promise.allSettled(buses.map((bus) => bus.close()));
    await nats?.stop();
  });

  async function bus(nodeId: string, reconnectTimeWait: number) {
    const b = await NatsClusterBus.connect({
      servers: nats.url,
      nodeId,
      prefix: "restart",
      heartbeatMs: 200,
      nodeTtlMs: 1_000,
      connectionOptions: { reconnectTimeWait, reconnectJitter: 0 },
    });
    buses.push(b);
    const requests: BusRequest[] = [];
    serveEveryKind(b, async (_deviceId, request) => {
      requests.push(request);
      return { ok: true };
    });
    return { bus: b, requests };
  }

  it("while NATS is down, devices held here are still served and remote requests fail fast (503)", async () => {
    const a = await bus("down-a", 50);
    await a.bus.hold("300", { sessionId: "s-300", connectedAt: 1 });
    await nats.kill();
    await until(async () => {
      const started = Date.now();
      const error = await a.bus.request("301", { kind: "deliver" }, 300).catch((e: unknown) => e);
      return (error as { code?: string }).code === "cluster_unavailable" && Date.now() - started < 100;
    }, "a fast cluster_unavailable");
    expect(await a.bus.request("300", { kind: "deliver" })).toEqual({ ok: true });
    const revoke: BusRequest = { kind: "disconnect", closeCode: 4006, reason: "auth_revoked" };
    expect(await a.bus.request("300", revoke)).toEqual({ ok: true });
    expect(a.requests).toContainEqual(revoke);
    await nats.restart();
    await until(
      async () => (await a.bus.presence.locate("300").catch(() => undefined)) === "down-a",
      "back",
      8_000,
    );
  });

  it("re-announces what it holds, whether NATS kept its state or lost it", async () => {
    const a = await bus("a", 1_000);
    const b = await bus("b", 50);
    await a.bus.hold("42", { sessionId: "sa-42", connectedAt: 1 });
    await a.bus.hold("77", { sessionId: "sa-77", connectedAt: 1 });
    expect(await b.bus.presence.locate("42")).toBe("a");

    // Restart on the same store: the presence bucket survives (or lost its last writes).
    await nats.restart();
    await until(
      async () => {
        const reply = await b.bus.request("42", { kind: "deliver" }, 300).catch(() => undefined);
        return typeof reply === "object" && reply.ok;
      },
      "routing back",
      8_000,
    );
    await until(
      async () => (await b.bus.presence.locate("42").catch(() => undefined)) === "a",
      "42 located",
      8_000,
    );

    // Restart on an empty store: every bucket is gone and is recreated.
    await nats.restart(true);
    await until(
      () =>
        b.bus.presence.locate("nobody").then(
          () => true,
          () => false,
        ),
      "b reconnected",
      8_000,
    );
    await until(
      async () => (await b.bus.presence.locate("42").catch(() => undefined)) === "a",
      "42 re-announced",
      8_000,
    );
    // (Which node reconnects first after the restart is up to NATS; the case of another node
    // taking a device while its holder is still away is covered in cluster.test.ts.)
    // Nothing was reaped: a stayed alive throughout.
    expect(await b.bus.request("42", { kind: "deliver" })).toEqual({ ok: true });
  });
});
