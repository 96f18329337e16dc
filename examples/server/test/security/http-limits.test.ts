import { readdirSync } from "node:fs";
import { get } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";

const MAX_CONNECTIONS = 30;
const PER_ADDRESS = 10;

/** GET /healthz from a given local address (127.0.0.0/8 is all loopback on Linux). */
function healthzFrom(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: "/healthz", localAddress, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
}

/** A raw TCP client that records what the server sent and when it closed. */
function rawClient(port: number, send?: string, localAddress = "127.0.0.1") {
  const client = { data: "", closed: false, socket: undefined as unknown as Socket };
  const closed = new Promise<void>((resolve) => {
    client.socket = connect({ port, host: "127.0.0.1", localAddress }, () => {
      if (send) client.socket.write(send);
    });
    client.socket.on("data", (chunk) => (client.data += chunk));
    client.socket.on("error", () => {}); // a reset is one way of being closed
    client.socket.on("close", () => {
      client.closed = true;
      resolve();
    });
  });
  return Object.assign(client, { closedP: closed });
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** #21.7: half-sent requests and silent sockets cannot exhaust the server's connections for good. */
describe("security: HTTP connection limits and timeouts", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({
      CLOUDEDGE_DB: "memory:",
      CLOUDEDGE_HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      CLOUDEDGE_HTTP_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
      CLOUDEDGE_HTTP_HEADERS_TIMEOUT_MS: "1000",
      CLOUDEDGE_HTTP_REQUEST_TIMEOUT_MS: "2000",
      CLOUDEDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS: "1000",
      CLOUDEDGE_HTTP_IDLE_TIMEOUT_MS: "1000",
    });
  });
  afterAll(() => server?.stop());

  it("one address holding half-sent requests gets only its share: /healthz answers another client meanwhile", async () => {
    // Its own server, with a headers timeout long enough to hold the attack through the test.
    const own = await startServerProcess({
      CLOUDEDGE_DB: "memory:",
      CLOUDEDGE_HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      CLOUDEDGE_HTTP_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
      CLOUDEDGE_HTTP_HEADERS_TIMEOUT_MS: "60000",
    });
    try {
      const attack = Array.from({ length: PER_ADDRESS + 15 }, () =>
        rawClient(own.port, "GET /healthz HTTP/1.1\r\nHost: victim\r\nX-Slow: ", "127.0.0.2"),
      );
      await expect.poll(() => attack.filter((c) => c.closed).length, { timeout: 10_000 }).toBe(15);
      expect(attack.filter((c) => c.closed).every((c) => c.data === "")).toBe(true);
      // The attacker holds its share; a client from another address is served all the same.
      expect(await healthzFrom(own.port, "127.0.0.3")).toBe(200);
      expect(attack.filter((c) => !c.closed)).toHaveLength(PER_ADDRESS);

      // Device WebSockets do not count once upgraded: many devices behind one NAT share an address.
      // (One after another: while connecting, before the upgrade, each does count.)
      const devices: WebSocket[] = [];
      for (let i = 0; i < PER_ADDRESS + 5; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${own.port}/ws`, { localAddress: "127.0.0.4" });
        await new Promise<void>((resolve, reject) => {
          ws.once("open", () => resolve());
          ws.once("error", reject);
        });
        devices.push(ws);
      }
      expect(await healthzFrom(own.port, "127.0.0.4")).toBe(200);
      for (const ws of devices) ws.terminate();
      // An upgrade anywhere else is refused, not held.
      const elsewhere = rawClient(
        own.port,
        "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      );
      await elsewhere.closedP;
      expect(elsewhere.data).toMatch(/^HTTP\/1\.1 404 /);
      for (const c of attack) c.socket.destroy();
    } finally {
      await own.stop();
    }
  }, 60_000);

  it("connections beyond maxConnections are closed at once; held half-sent requests get 408; /healthz then answers", async () => {
    const baseline = openFds(server.pid);
    // From five addresses, each under its share: here maxConnections is what sheds them.
    const attack = Array.from({ length: MAX_CONNECTIONS + 20 }, (_, i) =>
      rawClient(server.port, "GET /healthz HTTP/1.1\r\nHost: victim\r\nX-Slow: ", `127.0.1.${1 + (i % 5)}`),
    );
    // The server shed what it cannot hold instead of running out of descriptors.
    await expect
      .poll(() => attack.filter((c) => c.closed).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(20);
    expect(openFds(server.pid)).toBeLessThanOrEqual(baseline + MAX_CONNECTIONS);
    await Promise.all(attack.map((c) => c.closedP));
    const timedOut = attack.filter((c) => c.data.startsWith("HTTP/1.1 408"));
    const refused = attack.filter((c) => c.data === "");
    expect(timedOut.length + refused.length).toBe(attack.length);
    expect(timedOut.length).toBeLessThanOrEqual(MAX_CONNECTIONS);
    expect(refused.length).toBeGreaterThanOrEqual(20);
    // Nothing was answered with the resource: a half-sent request never reaches a handler.
    expect(attack.some((c) => c.data.includes('"status"'))).toBe(false);

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  }, 30_000);

  it("a connection that never sends a byte is closed after the idle timeout", async () => {
    const silent = rawClient(server.port);
    await silent.closedP;
    // Closed without an answer (or, when Node's header timer saw it first, a bare 408).
    expect(silent.data === "" || silent.data.startsWith("HTTP/1.1 408")).toBe(true);
  }, 15_000);

  it("an idle keep-alive connection is closed after the keep-alive timeout", async () => {
    const client = rawClient(server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await client.closedP;
    expect(client.data).toMatch(/^HTTP\/1\.1 200 /);
    expect(client.data).toMatch(/keep-alive: timeout=1/i);
  }, 15_000);

  it("a long response is not cut by the idle or request timeout (a request in flight is not idle)", async () => {
    // A command with wait: true to an offline device with a TTL: held ~3 s, beyond every timeout above.
    const { id } = (await server.api("POST", "/api/v1/devices", { name: "slow" })).body as { id: string };
    const response = await server.api("POST", `/api/v1/devices/${id}/commands`, {
      method: "system.ping",
      ttlMs: 2500,
      wait: true,
    });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe("EXPIRED");
  }, 20_000);
});
