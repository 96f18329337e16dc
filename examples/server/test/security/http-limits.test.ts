import { readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";

const MAX_CONNECTIONS = 30;

/** A raw TCP client that records what the server sent and when it closed. */
function rawClient(port: number, send?: string) {
  const client = { data: "", closed: false, socket: undefined as unknown as Socket };
  const closed = new Promise<void>((resolve) => {
    client.socket = connect(port, "127.0.0.1", () => {
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
      CLOUDEDGE_HTTP_HEADERS_TIMEOUT_MS: "1000",
      CLOUDEDGE_HTTP_REQUEST_TIMEOUT_MS: "2000",
      CLOUDEDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS: "1000",
      CLOUDEDGE_HTTP_IDLE_TIMEOUT_MS: "1000",
    });
  });
  afterAll(() => server?.stop());

  it("connections beyond maxConnections are closed at once; held half-sent requests get 408; /healthz then answers", async () => {
    const baseline = openFds(server.pid);
    const attack = Array.from({ length: MAX_CONNECTIONS + 20 }, () =>
      rawClient(server.port, "GET /healthz HTTP/1.1\r\nHost: victim\r\nX-Slow: "),
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
    const token = server.adminToken();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const created = await fetch(`${server.url}/api/v1/devices`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "slow" }),
    });
    const { id } = (await created.json()) as { id: string };
    const response = await fetch(`${server.url}/api/v1/devices/${id}/commands`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ method: "system.ping", ttlMs: 2500, wait: true }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe("EXPIRED");
  }, 20_000);
});
