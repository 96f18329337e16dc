import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WsDevice } from "../../../../packages/cloud-sdk/test/support/ws-device.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";

/** #21.5: one device (or one write token) cannot grow the database or the queue without bound. */
describe("security: per-device quotas (real server process, real WebSockets)", () => {
  let server: ServerProcess;
  let api: ServerProcess["api"];

  beforeAll(async () => {
    server = await startServerProcess({
      CLOUDEDGE_DB: "memory:",
      CLOUDEDGE_STATUS_PER_MINUTE: "1",
      CLOUDEDGE_STATUS_BURST: "50",
      CLOUDEDGE_STATUS_MAX_BYTES: "4096",
      CLOUDEDGE_STATUS_HISTORY_BYTES: "20000",
      CLOUDEDGE_STATUS_MAX_SKEW_MS: "1000",
      CLOUDEDGE_MAX_COMMANDS: "3",
      CLOUDEDGE_MAX_COMMAND_BYTES: "100000",
    });
    api = server.api;
  });
  afterAll(() => server?.stop());

  const register = async (name: string) => {
    const created = await api("POST", "/api/v1/devices", { name });
    expect(created.status).toBe(201);
    return created.body as { id: string; secret: string };
  };
  const connect = async (name: string) => {
    const { id, secret } = await register(name);
    const { device } = await WsDevice.connect(`ws://127.0.0.1:${server.port}/ws`, { deviceId: id, secret });
    return { id, device };
  };
  const errorsOf = (device: WsDevice) => device.received.filter((p) => p.type === "error");
  const history = async (id: string) =>
    (await api("GET", `/api/v1/devices/${id}/status/history?limit=10000`)).body.items as Array<{
      ts: number;
      deviceId: string;
      receivedAt: number;
    }>;

  it("a report over the byte bound and reports beyond the rate get error quota_exceeded and are not stored", async () => {
    const { id, device } = await connect("flooder");
    device.send({
      type: "status",
      ts: Date.now(),
      data: { blob: Array(4).fill("x".repeat(60_000)) },
    } as never);
    for (let i = 0; i < 60; i++)
      device.send({ type: "status", ts: Date.now() - 1000 + i, data: { uptimeS: i } });
    await expect.poll(() => errorsOf(device).length, { timeout: 10_000 }).toBe(11);
    const errors = errorsOf(device) as Array<{ code: string; message: string; retryAfterMs?: number }>;
    expect(errors.every((e) => e.code === "quota_exceeded")).toBe(true);
    expect(errors[0]?.message).toMatch(/over the 4096-byte limit/);
    expect(errors.slice(1).every((e) => (e.retryAfterMs ?? 0) > 0)).toBe(true);
    expect(await history(id)).toHaveLength(50);
    // The session is not closed: the device goes on (its heartbeat still answered).
    device.send({ type: "ping", seq: 1 });
    expect((await device.next("pong")).seq).toBe(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/cloudedge_status_refused_total\{reason="rate"\} 10/);
    expect(metrics).toMatch(/cloudedge_status_refused_total\{reason="size"\} 1/);
    await device.close();
  });

  it("stored history stays within the per-device byte bound: the oldest reports are pruned", async () => {
    const { id, device } = await connect("filler");
    const t0 = Date.now() - 60_000;
    // 30 reports of ~3 KB: 90 KB sent against a 20,000-byte bound.
    for (let i = 0; i < 30; i++)
      device.send({ type: "status", ts: t0 + i, data: { uptimeS: i, pad: "p".repeat(3000) } } as never);
    await expect.poll(async () => (await history(id)).at(0)?.ts, { timeout: 10_000 }).toBe(t0 + 29);
    await expect
      .poll(
        async () =>
          (await history(id)).reduce(
            (n, { deviceId, ts, receivedAt, ...data }) => n + JSON.stringify(data).length,
            0,
          ),
        {
          timeout: 10_000,
        },
      )
      .toBeLessThanOrEqual(20_000);
    expect((await history(id)).some((r) => r.ts === t0)).toBe(false);
    expect(errorsOf(device)).toEqual([]);
    await device.close();
  });

  it("a ts far in the future is clamped to server time + skew, so it does not stay latest", async () => {
    const { id, device } = await connect("time-traveller");
    device.send({ type: "status", ts: 8.64e15, data: { uptimeS: 1 } });
    await expect
      .poll(async () => (await api("GET", `/api/v1/devices/${id}/status`)).status, { timeout: 5_000 })
      .toBe(200);
    const stored = (await api("GET", `/api/v1/devices/${id}/status`)).body as { ts: number };
    expect(stored.ts).toBeLessThanOrEqual(Date.now() + 1000);
    await new Promise((r) => setTimeout(r, 1100)); // past the skew: an honest report is newer
    const honest = Date.now();
    device.send({ type: "status", ts: honest, data: { uptimeS: 2 } });
    await expect
      .poll(async () => (await api("GET", `/api/v1/devices/${id}/status`)).body.ts, { timeout: 5_000 })
      .toBe(honest);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/cloudedge_status_ts_clamped_total 1/);
    await device.close();
  });

  it("commands for an offline device beyond the queue quota: 429 queue_full, also under concurrency", async () => {
    const { id } = await register("offline");
    const post = (params: unknown = null) =>
      api("POST", `/api/v1/devices/${id}/commands`, { method: "system.ping", params, ttlMs: 600_000 });
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => post()));
    expect(outcomes.filter((o) => o.status === 202)).toHaveLength(3);
    const refused = outcomes.filter((o) => o.status !== 202);
    expect(refused).toHaveLength(17);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.type).toMatch(/application\/problem\+json/);
      expect(r.body).toMatchObject({ code: "queue_full", limit: "commands", max: 3, deviceId: id });
    }
    const queued = await api("GET", `/api/v1/devices/${id}/commands?status=QUEUED`);
    expect(queued.body.items).toHaveLength(3);

    const other = await register("offline-bytes");
    const big = { blob: "b".repeat(60_000) };
    const send = () =>
      api("POST", `/api/v1/devices/${other.id}/commands`, { method: "put", params: big, ttlMs: 600_000 });
    expect((await send()).status).toBe(202);
    const second = await send();
    expect(second.status).toBe(429);
    expect(second.body).toMatchObject({ code: "queue_full", limit: "bytes", max: 100_000 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/cloudedge_commands_refused_total\{reason="queue_full"\} 18/);
  });
});
