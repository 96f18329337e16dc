import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CloseCode, ErrorCode, parseRetryAfter } from "@cloudedge/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { bcryptStats, Cloud, type CloudOptions, type PresenceEvent, type Store } from "../../src/index.js";
import { createTeardown } from "../../src/testing/teardown.js";
import { closeServer } from "../support/close-server.js";
import { WsDevice } from "../support/ws-device.js";

const TOKEN_KEY = "integration-key-".repeat(4);

/**
 * The hub end to end over real WebSockets on port 0, against a given store. Run by
 * memory, SQLite and MySQL test files: every scenario of issue #3 against each store.
 */
export function describeHubIntegration(name: string, openStore: () => Promise<Store>): void {
  describe(`hub over real WebSockets (${name})`, () => {
    const teardown = createTeardown(afterEach);
    /** How to forget each running hub's stop, for a test that kills it instead. */
    const running = new Map<Cloud, () => void>();

    async function start(store?: Store, options: Partial<CloudOptions> = {}) {
      const cloud = new Cloud({
        store: store ?? (await openStore()),
        tokenKey: TOKEN_KEY,
        bcryptCost: 4,
        ...options,
        hub: { heartbeatMs: 1_000, ...options.hub },
        commands: { sweepMs: 50, ...options.commands },
        status: { flushMs: 50, ...options.status },
      });
      await cloud.start();
      const server = createServer((_req, res) => res.writeHead(404).end());
      cloud.attach(server, "/ws");
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const stop = async () => {
        await cloud.close({ spreadMs: 100, graceMs: 100 }).catch(() => undefined);
        await closeServer(server);
      };
      running.set(cloud, teardown.add(stop));
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
      const presence: PresenceEvent[] = [];
      cloud.hub.on("presence", (event) => presence.push(event));
      return { cloud, server, url, presence, store: cloud.options.store };
    }

    /** Stops a hub the way a crash would: no bye, no flush beyond what is written. */
    async function kill(cloud: Cloud, server: Server) {
      running.get(cloud)?.();
      cloud.broker.close();
      await closeServer(server);
    }

    it("authenticates with the secret, then resumes with the token without bcrypt", async () => {
      const { cloud, url } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const first = await WsDevice.connect(url, { deviceId: device.id, secret });
      expect(first.welcome).toMatchObject({ deviceId: device.id, heartbeatMs: 1000 });
      await first.device.close();
      const before = bcryptStats.verifications;
      const second = await WsDevice.connect(url, { deviceId: device.id, token: first.welcome.token });
      expect(second.welcome.deviceId).toBe(device.id);
      expect(bcryptStats.verifications).toBe(before);
      await second.device.close();
    });

    it("a wrong secret gets error auth_failed and close 4001; repeated failures get 4010 with retry-after", async () => {
      // Default limits: one free failure per (device, address), then a soft backoff.
      const { cloud, url } = await start();
      const { device } = await cloud.devices.register({ name: "a" });
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const d = await WsDevice.open(url);
        d.send({
          type: "hello",
          versions: [1],
          deviceId: device.id,
          secret: "not-the-secret-123",
          agent: { name: "t", version: "1" },
          bootId: "b",
          desiredVersion: 0,
        });
        const error = await d.next("error");
        const closed = await d.closed;
        codes.push(closed.code);
        if (i === 0) expect(error.code).toBe(ErrorCode.AUTH_FAILED);
        if (i > 0) expect(parseRetryAfter(closed.reason)).toBeGreaterThan(0);
      }
      expect(codes).toEqual([4001, 4010, 4010, 4010]);
    });

    it("secret rotation kills the live session (4006) and the old token", async () => {
      const { cloud, url } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const { device: ws, welcome } = await WsDevice.connect(url, { deviceId: device.id, secret });
      const rotated = await cloud.devices.rotateSecret(device.id);
      expect((await ws.closed).code).toBe(CloseCode.AUTH_REVOKED);
      const old = await WsDevice.open(url);
      old.send({
        type: "hello",
        versions: [1],
        deviceId: device.id,
        token: welcome.token,
        agent: { name: "t", version: "1" },
        bootId: "b",
        desiredVersion: 0,
      });
      expect((await old.next("error")).code).toBe(ErrorCode.TOKEN_REJECTED);
      expect((await old.closed).code).toBe(CloseCode.TOKEN_REJECTED);
      const fresh = await WsDevice.connect(url, { deviceId: device.id, secret: rotated.secret });
      expect(fresh.welcome.deviceId).toBe(device.id);
      await fresh.device.close();
    });

    it("a second session replaces the first (4004, presence reason replaced)", async () => {
      const { cloud, url, presence } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const one = await WsDevice.connect(url, { deviceId: device.id, secret });
      const two = await WsDevice.connect(url, { deviceId: device.id, secret });
      expect((await one.device.closed).code).toBe(CloseCode.REPLACED);
      expect(presence.map((p) => p.reason)).toEqual(["connected", "replaced", "connected"]);
      expect(cloud.hub.session(device.id)?.id).toBe(two.welcome.sessionId);
      await two.device.close();
    });

    it("a silent device is closed with 4005 and recorded offline with reason heartbeat_timeout", async () => {
      const { cloud, url, presence, store } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
      expect((await ws.closed).code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
      expect(presence.at(-1)).toMatchObject({ online: false, reason: "heartbeat_timeout" });
      await cloud.eventLog.flush();
      const events = await store.events.list(device.id, { kinds: ["disconnected"] });
      expect(events.items[0]).toMatchObject({ reason: "heartbeat_timeout" });
      expect((await store.devices.get(device.id))?.online).toBe(false);
    });

    it("runs a command on an online device: cmd, ack, result", async () => {
      const { cloud, url } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
      const call = cloud.broker.call(device.id, "system.ping", { x: 1 }, { timeoutMs: 5_000 });
      const cmd = await ws.next("cmd");
      ws.send({ type: "ack", id: cmd.id });
      ws.send({ type: "result", id: cmd.id, ok: true, data: { echo: cmd.params } });
      await expect(call).resolves.toEqual({ echo: { x: 1 } });
      expect(await cloud.broker.get(cmd.id)).toMatchObject({ status: "SUCCEEDED", attempts: 1 });
      await ws.close();
    });

    it("delivers a persistent command queued for an offline device when it connects", async () => {
      const { cloud, url } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const queued = await cloud.broker.send(device.id, "logs.upload", { lines: 10 }, { ttlMs: 60_000 });
      expect(queued.status).toBe("QUEUED");
      const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
      const cmd = await ws.next("cmd");
      expect(cmd).toMatchObject({ id: queued.id, method: "logs.upload", params: { lines: 10 } });
      ws.send({ type: "ack", id: cmd.id });
      ws.send({ type: "result", id: cmd.id, ok: true, data: null });
      expect((await cloud.broker.wait(queued.id, 5_000)).status).toBe("SUCCEEDED");
      await ws.close();
    });

    it("expires a queued command after its TTL and cancels another", async () => {
      const { cloud } = await start();
      const { device } = await cloud.devices.register({ name: "a" });
      const short = await cloud.broker.send(device.id, "x", null, { ttlMs: 200 });
      const other = await cloud.broker.send(device.id, "y", null, { ttlMs: 60_000 });
      expect((await cloud.broker.cancel(other.id)).status).toBe("CANCELED");
      expect((await cloud.broker.wait(short.id, 3_000)).status).toBe("EXPIRED");
    });

    it("recovers a non-terminal command after a hub restart and delivers it again", async () => {
      const store = await openStore();
      const first = await start(store);
      const { device, secret } = await first.cloud.devices.register({ name: "a" });
      const { device: ws } = await WsDevice.connect(first.url, { deviceId: device.id, secret });
      const sent = await first.cloud.broker.send(device.id, "system.reboot", null, { timeoutMs: 60_000 });
      const cmd = await ws.next("cmd");
      ws.send({ type: "ack", id: cmd.id });
      await expect.poll(async () => (await store.commands.get(sent.id))?.status).toBe("DELIVERED");
      await kill(first.cloud, first.server);
      await ws.closed;

      const second = await start(store);
      expect((await store.commands.get(sent.id))?.status).toBe("QUEUED");
      const again = await WsDevice.connect(second.url, { deviceId: device.id, secret });
      const redelivered = await again.device.next("cmd");
      expect(redelivered).toMatchObject({ id: sent.id, deadline: cmd.deadline });
      again.device.send({ type: "result", id: sent.id, ok: true, data: { rebooting: true } });
      expect((await second.cloud.broker.wait(sent.id, 5_000)).status).toBe("SUCCEEDED");
      await again.device.close();
    });

    it("over the session limit, a new connection is closed 4008 with a retry-after hint", async () => {
      const { cloud, url } = await start(undefined, { hub: { maxSessions: 1, tryLaterMs: [2_000, 4_000] } });
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
      const extra = await WsDevice.open(url);
      const closed = await extra.closed;
      expect(closed.code).toBe(CloseCode.TRY_LATER);
      expect(parseRetryAfter(closed.reason)).toBeGreaterThanOrEqual(2_000);
      await ws.close();
    });

    it("an oversize frame is refused with 1009 and the hub stays healthy", async () => {
      const { cloud, url } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
      ws.sendRaw(JSON.stringify({ type: "status", ts: 1, data: { pad: "x".repeat(300 * 1024) } }));
      expect((await ws.closed).code).toBe(CloseCode.MESSAGE_TOO_BIG);
      const again = await WsDevice.connect(url, { deviceId: device.id, secret });
      again.device.send({ type: "ping", seq: 1 });
      expect((await again.device.next("pong")).seq).toBe(1);
      await again.device.close();
      expect(cloud.hub.sessionCount).toBe(0);
    });

    it("garbage gets a documented error: invalid PDUs keep the session, bad JSON closes it (4000)", async () => {
      const { cloud, url } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
      ws.sendRaw('{"type":"status","ts":"yesterday","data":{}}');
      expect((await ws.next("error")).code).toBe(ErrorCode.INVALID_PDU);
      ws.sendRaw(Buffer.from([0x7b, 0xff]));
      expect((await ws.next("error")).code).toBe(ErrorCode.INVALID_UTF8);
      expect((await ws.closed).code).toBe(CloseCode.PROTOCOL_VIOLATION);
      const again = await WsDevice.connect(url, { deviceId: device.id, secret });
      expect(again.welcome.deviceId).toBe(device.id);
      await again.device.close();
    });

    it("stores status reports with their own timestamps and serves history", async () => {
      const { cloud, url } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
      const t = Date.now();
      for (let i = 0; i < 5; i++)
        ws.send({ type: "status", ts: t - (5 - i) * 1000, data: { cpu: { usagePercent: i } } });
      await expect.poll(async () => (await cloud.status.history(device.id)).length).toBe(5);
      const history = await cloud.status.history(device.id, { order: "asc" });
      expect(history.map((h) => h.ts)).toEqual([t - 5000, t - 4000, t - 3000, t - 2000, t - 1000]);
      await ws.close();
    });

    it("graceful shutdown: every device gets bye with a retry-after, then 4009", async () => {
      const { cloud, url } = await start();
      const { device, secret } = await cloud.devices.register({ name: "a" });
      const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
      await cloud.close({ spreadMs: 5_000, graceMs: 500 });
      const bye = await ws.next("bye");
      const closed = await ws.closed;
      expect(closed.code).toBe(CloseCode.SERVER_SHUTDOWN);
      expect(parseRetryAfter(closed.reason)).toBe(bye.retryAfterMs);
    });
  });
}
