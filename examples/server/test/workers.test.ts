import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NATS_TEST_URL,
  NatsTestCluster,
} from "../../../packages/cloud-sdk/test/cluster/support/nats-test-server.js";
import { WsDevice } from "../../../packages/cloud-sdk/test/support/ws-device.js";
import { freePort } from "../../../packages/edge-sdk/test/support/sshd.js";

const ROOT = join(import.meta.dirname, "../../..");

/** `--workers 3` on one port: three hub processes, devices spread over them, NATS between them. */
describe("--workers 3 on one port (real NATS, shared SQLite file)", () => {
  let dir: string;
  let port: number;
  let token: string;
  let out = "";
  let events = "";
  const sse = new AbortController();
  let server: ReturnType<typeof spawn>;
  const devices: Array<{ id: string; ws: WsDevice }> = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  let nats: NatsTestCluster;

  beforeAll(async () => {
    nats = await NatsTestCluster.create();
    dir = mkdtempSync(join(tmpdir(), "cloudedge-workers-"));
    port = await freePort();
    server = spawn(process.execPath, [join(ROOT, "examples/server/dist/main.js"), "--workers", "3"], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        CLOUDEDGE_DATA_DIR: join(dir, "data"),
        CLOUDEDGE_NATS_URL: NATS_TEST_URL,
        // A cluster of its own on the shared NATS server (other runs may use it meanwhile).
        CLOUDEDGE_NATS_PREFIX: nats.prefix,
        CLOUDEDGE_HEARTBEAT_MS: "2000",
        CLOUDEDGE_LOG_LEVEL: "warn",
        CLOUDEDGE_BCRYPT_COST: "4",
        // As behind a load balancer on this machine: the device's address is in X-Forwarded-For.
        CLOUDEDGE_TRUST_PROXY: "127.0.0.1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout!.on("data", (c: Buffer) => (out += c));
    server.stderr!.on("data", (c: Buffer) => (out += c));
    const deadline = Date.now() + 60_000;
    while (!/listening on .* with 3 workers/.test(out)) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`server did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    token = readFileSync(join(dir, "data", "admin-token"), "utf8").trim();
    void fetch(`http://127.0.0.1:${port}/api/v1/events?types=presence`, {
      headers: { authorization: `Bearer ${token}` },
      signal: sse.signal,
    })
      .then(async (response) => {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
          events += new TextDecoder().decode(chunk);
      })
      .catch(() => {});
  }, 90_000);

  afterAll(async () => {
    sse.abort();
    for (const { ws } of devices) await ws.close().catch(() => {});
    server.kill("SIGTERM");
    await new Promise((resolve) => server.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
    await nats?.drop();
  });

  it("prints the first admin token once, not once per worker", () => {
    expect(out.match(/admin API token/g)).toHaveLength(1);
  });

  it("devices land on different workers, and a command reaches each of them from any worker", async () => {
    for (let i = 0; i < 6; i++) {
      const created = await api("POST", "/api/v1/devices", { name: `d${i}` });
      expect(created.status).toBe(201);
      const { device: ws } = await WsDevice.connect(`ws://127.0.0.1:${port}/ws`, {
        deviceId: created.body.id,
        secret: created.body.secret,
      });
      ws.ws.on("message", (data: Buffer) => {
        const pdu = JSON.parse(data.toString());
        if (pdu.type === "cmd") {
          ws.send({ type: "ack", id: pdu.id });
          ws.send({ type: "result", id: pdu.id, ok: true, data: { by: created.body.id } });
        }
      });
      devices.push({ id: created.body.id, ws });
    }
    await expect.poll(() => (events.match(/"online":true/g) ?? []).length, { timeout: 20_000 }).toBe(6);
    const nodes = new Set([...events.matchAll(/"nodeId":"([^"]+)"/g)].map((m) => m[1]));
    expect(nodes.size).toBeGreaterThan(1);
    for (const { id } of devices) {
      const response = await api("POST", `/api/v1/devices/${id}/commands`, {
        method: "system.ping",
        wait: true,
        timeoutMs: 10_000,
      });
      expect(response.body).toMatchObject({ status: "SUCCEEDED", result: { by: id } });
    }
  });

  it("behind a trusted proxy, a failed login is logged with the device's forwarded address", async () => {
    const created = await api("POST", "/api/v1/devices", { name: "behind-proxy" });
    const device = await WsDevice.open(`ws://127.0.0.1:${port}/ws`, {
      headers: { "X-Forwarded-For": "203.0.113.77" },
    });
    device.send({
      type: "hello",
      versions: [1],
      deviceId: created.body.id,
      secret: "not-the-secret-123",
      agent: { name: "t", version: "1" },
      bootId: "b",
      desiredVersion: 0,
    });
    expect((await device.closed).code).toBe(4001);
    await expect
      .poll(async () => (await api("GET", `/api/v1/devices/${created.body.id}/events?kind=auth_failed`)).body)
      .toMatchObject({ items: [{ kind: "auth_failed", data: { remoteAddress: "203.0.113.77" } }] });
  });
});
