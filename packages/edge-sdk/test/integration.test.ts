import { afterEach, describe, expect, it } from "vitest";
import type { EdgeClientOptions } from "../src/client-options.js";
import { EdgeClient } from "../src/edge-client.js";
import { systemExecutors } from "../src/node/executors/system.js";
import { MemoryStorage } from "../src/storage.js";
import { next, startHub, type TestHub, until } from "./support/hub.js";

// End to end over real WebSockets against the real hub of @cloudedge/cloud-sdk.

const hubs: TestHub[] = [];
const clients: EdgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(hubs.splice(0).map((h) => h.stop()));
});

async function hub(options: Parameters<typeof startHub>[0] = {}) {
  const h = await startHub(options);
  hubs.push(h);
  return h;
}

async function device(h: TestHub, name = "d1") {
  return h.cloud.devices.register({ name });
}

function client(options: EdgeClientOptions) {
  const c = new EdgeClient({ backoff: { baseMs: 50, capMs: 1_000 }, ...options });
  clients.push(c);
  return c;
}

describe("EdgeClient against the real hub", () => {
  it("connects with the secret, then resumes by token", async () => {
    const h = await hub();
    const { device: d, secret } = await device(h);
    const c = client({ url: h.url, deviceId: d.id, secret });
    const first = next(c, "online");
    await c.start();
    expect(await first).toMatchObject({ deviceId: d.id, viaToken: false, heartbeatMs: 1_000 });
    expect(h.cloud.hub.session(d.id)?.bootId).toBe(c.bootId);
    expect(
      await h.cloud.broker.call(d.id, "system.ping", {}, { timeoutMs: 5_000 }).catch((e) => e.code),
    ).toBe("device_error");

    const again = next(c, "online");
    h.cloud.hub.disconnect(d.id, 4004, "replaced");
    expect(await again).toMatchObject({ viaToken: true });
  });

  it("falls back to the secret when its stored token is rejected", async () => {
    const h = await hub();
    const { device: d, secret } = await device(h);
    const storage = new MemoryStorage();
    await storage.save("token", { token: "v1.forged.token", expiresAt: Date.now() + 86_400_000 });
    const c = client({ url: h.url, deviceId: d.id, secret, storage });
    const offline = next(c, "offline");
    const online = next(c, "online");
    await c.start();
    expect(await offline).toMatchObject({ code: 4012, advice: "reauthenticate", delayMs: 0 });
    expect(await online).toMatchObject({ viaToken: false });
    expect(await storage.load("token")).toMatchObject({ token: expect.not.stringMatching("forged") });
  });

  it("a wrong secret is an auth failure with a long backoff and an event", async () => {
    const h = await hub();
    const { device: d } = await device(h);
    const c = client({
      url: h.url,
      deviceId: d.id,
      secret: "wrong-secret-wrong-secret",
      backoff: { baseMs: 50, capMs: 60_000 },
    });
    const failed = next(c, "authFailed");
    const offline = next(c, "offline");
    await c.start();
    expect(await failed).toMatchObject({ code: 4001 });
    const info = await offline;
    expect(info.advice).toBe("auth_backoff");
    expect(info.delayMs).toBeGreaterThanOrEqual(30_000);
  });

  it("rides out a hub restart: bye + 4009 retry-after, then reconnects to the new hub", async () => {
    const h1 = await hub();
    const { device: d, secret } = await device(h1);
    const c = client({ url: h1.url, deviceId: d.id, secret });
    const online = next(c, "online");
    await c.start();
    await online;
    const offline = next(c, "offline");
    await h1.stop();
    const info = await offline;
    expect(info).toMatchObject({ code: 4009, advice: "retry_after", wasOnline: true });
    expect(info.delayMs).toBeGreaterThanOrEqual(1_000); // the hub's jittered retry-after (≥ 1 s)
    const back = next(c, "online");
    const h2 = await hub({ port: h1.port, store: h1.store });
    expect(await back).toMatchObject({ deviceId: d.id, viaToken: true });
    expect(h2.cloud.hub.session(d.id)).toBeDefined();
  });

  it("flushes the outbox after an outage with the original timestamps, oldest first", async () => {
    const h1 = await hub();
    const { device: d, secret } = await device(h1);
    const c = client({ url: h1.url, deviceId: d.id, secret });
    const online = next(c, "online");
    await c.start();
    await online;
    // Timestamps in the past, as an outbox holds them (the hub clamps ones ahead of its clock).
    const first = Date.now() - 60_000;
    expect(await c.sendStatus({ uptimeS: 1 }, first)).toBe(true);
    await until(async () => (await h1.cloud.status.history(d.id)).length === 1, "first status");
    const offline = next(c, "offline");
    await h1.stop();
    await offline;
    const stamps = [first + 1_000, first + 2_000, first + 3_000];
    for (const [i, ts] of stamps.entries()) expect(await c.sendStatus({ uptimeS: 10 + i }, ts)).toBe(false);
    expect(c.outboxStats.size).toBe(3);
    const back = next(c, "online");
    const h2 = await hub({ port: h1.port, store: h1.store });
    await back;
    const history = await until(async () => {
      const rows = await h2.cloud.status.history(d.id, { order: "asc" });
      return rows.length >= 4 ? rows : undefined;
    }, "status history");
    expect(history.map((r) => r.ts)).toEqual([first, ...stamps]);
    expect(c.outboxStats.size).toBe(0);
  });

  it("runs a redelivered command once and answers it from the dedupe table", async () => {
    const h = await hub();
    const { device: d, secret } = await device(h);
    const c = client({ url: h.url, deviceId: d.id, secret });
    let runs = 0;
    let release!: () => void;
    const started = new Promise<void>((ready) => {
      c.handle("work.slow", async () => {
        runs++;
        ready();
        await new Promise<void>((r) => {
          release = r;
        });
        return { runs };
      });
    });
    const received: boolean[] = [];
    c.on("commandReceived", (i) => received.push(i.duplicate));
    const online = next(c, "online");
    await c.start();
    await online;
    const call = h.cloud.broker.call(d.id, "work.slow", {}, { timeoutMs: 15_000 });
    await started;
    // The session dies mid-command (DELIVERED → requeue); the hub redelivers on the next session.
    const back = next(c, "online");
    h.cloud.hub.disconnect(d.id, 4000, "server_closed");
    await back;
    await until(() => received.length >= 2, "redelivery");
    release();
    expect(await call).toEqual({ runs: 1 });
    expect(runs).toBe(1);
    expect(received).toEqual([false, true]);
  });

  it("applies desired state changed while the device was offline after it reconnects", async () => {
    const h = await hub();
    const { device: d, secret } = await device(h);
    const storage = new MemoryStorage();
    const a = client({ url: h.url, deviceId: d.id, secret, storage });
    const onlineA = next(a, "online");
    await a.start();
    await onlineA;
    await h.cloud.state.patchDesired(d.id, { logLevel: "info" });
    await until(() => a.desired.version === 1, "first desired");
    await a.close();

    await h.cloud.state.patchDesired(d.id, { logLevel: "debug" });
    await h.cloud.state.patchDesired(d.id, { statusIntervalMs: 5_000 });
    const b = client({ url: h.url, deviceId: d.id, secret, storage });
    const changes: unknown[] = [];
    b.onDesired(async (change) => {
      changes.push(change);
      await b.reportState(change.document);
    });
    await b.start();
    await until(() => changes.length === 1, "desired after reconnect");
    expect(changes[0]).toMatchObject({
      version: 3,
      full: true,
      document: { logLevel: "debug", statusIntervalMs: 5_000 },
    });
    const view = await until(async () => {
      const v = await h.cloud.state.get(d.id);
      return v.reportedVersion >= 1 ? v : undefined;
    }, "reported state");
    expect(view.reported).toEqual({ logLevel: "debug", statusIntervalMs: 5_000 });

    // Online changes arrive as patches in order.
    await h.cloud.state.patchDesired(d.id, { logLevel: "warn" });
    await until(() => changes.length === 2, "online desired");
    expect(changes[1]).toMatchObject({ version: 4, full: false, patch: { logLevel: "warn" } });
  });

  it("answers an unknown method with method_not_found and times out a slow executor", async () => {
    const h = await hub();
    const { device: d, secret } = await device(h);
    const c = client({ url: h.url, deviceId: d.id, secret });
    c.handle("slow", () => new Promise(() => {}));
    const online = next(c, "online");
    await c.start();
    await online;
    const unknown = await h.cloud.broker
      .call(d.id, "no.such.method", {}, { timeoutMs: 5_000 })
      .catch((e: { command?: unknown }) => e);
    expect((unknown as { command?: unknown }).command).toMatchObject({
      status: "FAILED",
      error: { code: "method_not_found" },
    });

    const finished = next(c, "commandFinished", (o) => o.method === "slow");
    const slow = await h.cloud.broker.send(d.id, "slow", {}, { timeoutMs: 600 });
    expect(await finished).toMatchObject({ ok: false, code: "timeout" });
    const record = await until(async () => {
      const r = await h.cloud.broker.get(slow.id);
      return r.status === "FAILED" || r.status === "TIMED_OUT" ? r : undefined;
    }, "slow command terminal");
    expect(["FAILED", "TIMED_OUT"]).toContain(record.status);
  });

  it("delivers a command queued while offline once the device connects", async () => {
    const h = await hub();
    const { device: d, secret } = await device(h);
    const queued = await h.cloud.broker.send(d.id, "echo", { n: 7 }, { ttlMs: 60_000, timeoutMs: 5_000 });
    expect(queued.status).toBe("QUEUED");
    const c = client({ url: h.url, deviceId: d.id, secret });
    c.handle("echo", (params) => params ?? null);
    await c.start();
    const done = await until(async () => {
      const r = await h.cloud.broker.get(queued.id);
      return r.status === "SUCCEEDED" ? r : undefined;
    }, "queued command");
    expect(done.result).toEqual({ n: 7 });
  });

  it("system.reboot answers first, runs the configured argv, and the new boot id shows after the device is back", async () => {
    const h = await hub();
    const { device: d, secret } = await device(h);
    const storage = new MemoryStorage();
    let rebooted!: () => void;
    const rebootRan = new Promise<void>((resolve) => {
      rebooted = resolve;
    });
    // A harmless "reboot": a child process that exits at once; we watch it start.
    const executors = (bootId: string) =>
      systemExecutors({
        agentVersion: "0.1.0",
        bootId,
        rebootArgv: [process.execPath, "-e", "process.exit(0)"],
      });
    const before = client({
      url: h.url,
      deviceId: d.id,
      secret,
      storage,
      bootId: "boot-A",
      executors: executors("boot-A"),
    });
    before.on("commandFinished", (o) => {
      if (o.method === "system.reboot") setImmediate(rebooted);
    });
    const online = next(before, "online");
    await before.start();
    await online;
    expect(await h.cloud.broker.call(d.id, "system.info", {}, { timeoutMs: 5_000 })).toMatchObject({
      bootId: "boot-A",
    });
    expect(await h.cloud.broker.call(d.id, "system.reboot", {}, { timeoutMs: 5_000 })).toMatchObject({
      issued: true,
    });
    await rebootRan;
    await before.close();

    const after = client({
      url: h.url,
      deviceId: d.id,
      secret,
      storage,
      bootId: "boot-B",
      executors: executors("boot-B"),
    });
    const back = next(after, "online");
    await after.start();
    expect(await back).toMatchObject({ viaToken: true });
    expect(h.cloud.hub.session(d.id)?.bootId).toBe("boot-B");
    expect(await h.cloud.broker.call(d.id, "system.info", {}, { timeoutMs: 5_000 })).toMatchObject({
      bootId: "boot-B",
    });
  });

  it("identifies by serial number and model as registered", async () => {
    const h = await hub();
    const { device: d, secret } = await h.cloud.devices.register({
      name: "by-serial",
      hardware: { serialNumber: "SN-42", model: "gw-200" },
    });
    const c = client({ url: h.url, serialNumber: "SN-42", model: "gw-200", secret });
    const online = next(c, "online");
    await c.start();
    expect(await online).toMatchObject({ deviceId: d.id });
    expect(c.deviceId).toBe(d.id);
  });
});
