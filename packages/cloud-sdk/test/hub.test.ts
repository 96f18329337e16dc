import { CloseCode, ErrorCode, parseRetryAfter } from "@cloudedge/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { bcryptStats, type PresenceEvent } from "../src/index.js";
import { createTeardown } from "../src/testing/teardown.js";
import { makeCloud } from "./support/cloud-fixture.js";
import { FakeDevice, hello, until } from "./support/fake-device.js";
import { settle } from "./support/manual-clock.js";

const teardown = createTeardown(afterEach);

async function setup(overrides: Parameters<typeof makeCloud>[0] = {}) {
  const fixture = await makeCloud(overrides);
  const forget = teardown.add(() => fixture.cloud.close({ graceMs: 0 }));
  const presence: PresenceEvent[] = [];
  fixture.cloud.hub.on("presence", (event) => presence.push(event));
  return { ...fixture, presence, forget };
}

const closed = (conn: FakeDevice) => until(() => conn.closedWith !== undefined, "close");

describe("handshake", () => {
  it("accepts the right secret and answers welcome with a token, heartbeat and versions", async () => {
    const { online, cloud, presence } = await setup();
    const { device, conn, welcome } = await online();
    expect(welcome).toMatchObject({
      type: "welcome",
      version: 1,
      deviceId: device.id,
      heartbeatMs: 10_000,
      maxFrameBytes: 262_144,
      reportedVersion: 0,
    });
    expect(welcome?.token).toMatch(/^v1\./);
    expect(conn.closedWith).toBeUndefined();
    expect(cloud.hub.session(device.id)).toBeDefined();
    expect(presence).toMatchObject([{ deviceId: device.id, online: true, reason: "connected" }]);
    await settle();
    expect((await cloud.devices.get(device.id)).online).toBe(true);
  });

  it("identifies a device by (serialNumber, model)", async () => {
    const { cloud } = await setup();
    const { device, secret } = await cloud.devices.register({
      name: "gw",
      hardware: { serialNumber: "SN1", model: "M1" },
    });
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(hello({ serialNumber: "SN1", model: "M1", secret }));
    await until(() => conn.received.length > 0, "welcome");
    expect(conn.last("welcome")?.deviceId).toBe(device.id);
  });

  it("resumes with the token without running bcrypt", async () => {
    const { online, cloud } = await setup();
    const { device, conn, welcome } = await online();
    conn.hangUp(1000);
    const before = bcryptStats.verifications;
    const again = new FakeDevice(cloud.hub);
    again.sendPdu(hello({ deviceId: device.id, token: welcome!.token }));
    await until(() => again.received.length > 0, "welcome");
    expect(again.last("welcome")?.deviceId).toBe(device.id);
    expect(bcryptStats.verifications).toBe(before);
    expect(cloud.hub.stats.handshakes.viaToken).toBe(1);
  });

  it.each([
    [
      "wrong secret",
      (id: string) => hello({ deviceId: id, secret: "wrong-secret-wrong-secret" }),
      "bad_secret",
    ],
    ["unknown device", () => hello({ deviceId: "999999999", secret: "whatever-whatever" }), "unknown_device"],
  ])("%s → error auth_failed and close 4001, logged without the secret", async (_name, make, reason) => {
    const { online, cloud } = await setup();
    const { device } = await online();
    const failures: Array<{ reason: string }> = [];
    cloud.hub.on("authFailed", (f) => failures.push(f));
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(make(device.id));
    await closed(conn);
    expect(conn.received).toEqual([
      { type: "error", code: ErrorCode.AUTH_FAILED, message: "authentication failed" },
    ]);
    expect(conn.closedWith?.code).toBe(CloseCode.AUTH_FAILED);
    expect(failures).toMatchObject([{ reason }]);
    expect(JSON.stringify(failures)).not.toContain("wrong-secret");
  });

  it("rate-limits failed logins per device over all addresses: the 5th failure locks with retry-after", async () => {
    // The per-device limit (default 100/min) lowered to 5: five addresses together lock it.
    const { online, cloud } = await setup({
      auth: { perDevice: { maxFailures: 5, windowMs: 60_000, lockMs: 60_000 } },
    });
    const { device, secret } = await online();
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const conn = new FakeDevice(cloud.hub, `10.0.1.${i}`);
      conn.sendPdu(hello({ deviceId: device.id, secret: "wrong-secret-wrong-secret" }));
      await closed(conn);
      codes.push(conn.closedWith!.code);
      if (i === 5) {
        expect(parseRetryAfter(conn.closedWith?.reason)).toBeGreaterThan(0);
        expect(conn.last("error")).toMatchObject({ code: ErrorCode.RATE_LIMITED });
      }
    }
    expect(codes).toEqual([4001, 4001, 4001, 4001, 4010, 4010]);
    // Even the right secret waits out the lock.
    const right = new FakeDevice(cloud.hub, "10.0.9.9");
    right.sendPdu(hello({ deviceId: device.id, secret }));
    await closed(right);
    expect(right.closedWith?.code).toBe(CloseCode.RATE_LIMITED);
  });

  it("rate-limits failed logins per remote address across devices", async () => {
    const { cloud } = await setup({
      auth: { perAddress: { maxFailures: 3, windowMs: 60_000, lockMs: 30_000 } },
    });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const conn = new FakeDevice(cloud.hub, "192.0.2.7");
      conn.sendPdu(hello({ deviceId: String(1000 + i), secret: "guess-guess-guess-1" }));
      await closed(conn);
      codes.push(conn.closedWith!.code);
    }
    expect(codes).toEqual([4001, 4001, 4010, 4010]);
  });

  it("refuses a disabled device with 4003 and a token of an older generation with 4012", async () => {
    const { online, cloud } = await setup();
    const { device, secret, welcome, conn } = await online();
    await cloud.devices.update(device.id, { disabled: true });
    await closed(conn);
    expect(conn.closedWith?.code).toBe(CloseCode.DEVICE_DISABLED);
    const again = new FakeDevice(cloud.hub);
    again.sendPdu(hello({ deviceId: device.id, secret }));
    await closed(again);
    expect(again.closedWith?.code).toBe(CloseCode.DEVICE_DISABLED);
    await cloud.devices.update(device.id, { disabled: false });
    const stale = new FakeDevice(cloud.hub);
    stale.sendPdu(hello({ deviceId: device.id, token: welcome!.token }));
    await closed(stale);
    expect(stale.closedWith?.code).toBe(CloseCode.TOKEN_REJECTED);
    expect(stale.last("error")?.code).toBe(ErrorCode.TOKEN_REJECTED);
  });

  it("secret rotation closes the live session (4006) and kills the old token and secret", async () => {
    const { online, cloud, presence } = await setup();
    const { device, secret, welcome, conn } = await online();
    const rotated = await cloud.devices.rotateSecret(device.id);
    expect(rotated.secret).not.toBe(secret);
    await closed(conn);
    expect(conn.closedWith?.code).toBe(CloseCode.AUTH_REVOKED);
    expect(presence.at(-1)).toMatchObject({ online: false, reason: "auth_revoked" });
    for (const creds of [{ token: welcome!.token }, { secret }]) {
      const old = new FakeDevice(cloud.hub, `10.1.0.${Object.keys(creds)[0]?.length}`);
      old.sendPdu(hello({ deviceId: device.id, ...creds }));
      await closed(old);
      expect([CloseCode.TOKEN_REJECTED, CloseCode.AUTH_FAILED]).toContain(old.closedWith?.code);
    }
    const fresh = new FakeDevice(cloud.hub, "10.2.0.1");
    fresh.sendPdu(hello({ deviceId: device.id, secret: rotated.secret }));
    await until(() => fresh.received.length > 0, "welcome");
    expect(fresh.last("welcome")).toBeDefined();
  });

  it("a token and a secret together: a bad token falls back to the secret", async () => {
    const { online, cloud } = await setup();
    const { device, secret } = await online();
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(hello({ deviceId: device.id, token: "v1.garbage", secret }));
    await until(() => conn.received.length > 0, "welcome");
    expect(conn.last("welcome")).toBeDefined();
  });
});

describe("protocol violations before authentication", () => {
  it.each([
    ["a ping first", (c: FakeDevice) => c.sendPdu({ type: "ping", seq: 1 }), ErrorCode.HELLO_REQUIRED, 4000],
    ["garbage", (c: FakeDevice) => c.sendRaw("not json"), ErrorCode.INVALID_JSON, 4000],
    ["an invalid hello", (c: FakeDevice) => c.sendRaw('{"type":"hello"}'), ErrorCode.INVALID_PDU, 4000],
    [
      "an unsupported version",
      (c: FakeDevice) => c.sendPdu(hello({ deviceId: "1", secret: "x", versions: [7] })),
      ErrorCode.UNSUPPORTED_VERSION,
      4007,
    ],
  ])("%s → error %s, close %s", async (_name, act, code, closeCode) => {
    const { cloud } = await setup();
    const conn = new FakeDevice(cloud.hub);
    act(conn);
    await closed(conn);
    expect(conn.received[0]).toMatchObject({ type: "error", code });
    expect(conn.closedWith?.code).toBe(closeCode);
  });

  it("closes with 4002 when no hello arrives within the deadline", async () => {
    const { cloud, clock } = await setup({ hub: { helloTimeoutMs: 10_000 } });
    const conn = new FakeDevice(cloud.hub);
    await clock.advance(9_000);
    expect(conn.closedWith).toBeUndefined();
    await clock.advance(3_000);
    expect(conn.closedWith?.code).toBe(CloseCode.HELLO_TIMEOUT);
  });
});

describe("sessions", () => {
  it("answers ping with pong carrying the seq and server time", async () => {
    const { online, clock } = await setup();
    const { conn } = await online();
    conn.sendPdu({ type: "ping", seq: 41 });
    expect(conn.last("pong")).toEqual({ type: "pong", seq: 41, serverTime: clock.now() });
  });

  it("declares a silent device offline after 2.5 intervals (heartbeat_timeout), not before", async () => {
    const { online, clock, presence, cloud } = await setup();
    const { conn, device } = await online();
    await clock.advance(20_000);
    conn.sendPdu({ type: "ping", seq: 1 }); // any PDU is liveness
    await clock.advance(24_000);
    expect(conn.closedWith).toBeUndefined();
    await clock.advance(3_000);
    expect(conn.closedWith?.code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    expect(presence.at(-1)).toMatchObject({
      deviceId: device.id,
      online: false,
      reason: "heartbeat_timeout",
    });
    expect(cloud.hub.session(device.id)).toBeUndefined();
    await settle();
    expect((await cloud.devices.get(device.id)).online).toBe(false);
  });

  it("a new session replaces the old one (4004, reason replaced) and the device stays online", async () => {
    const { online, cloud, presence } = await setup();
    const { device, secret, conn } = await online();
    const second = new FakeDevice(cloud.hub, "10.9.9.9");
    second.sendPdu(hello({ deviceId: device.id, secret }));
    await until(() => second.received.length > 0, "welcome");
    await closed(conn);
    expect(conn.closedWith?.code).toBe(CloseCode.REPLACED);
    expect(presence.map((p) => [p.online, p.reason])).toEqual([
      [true, "connected"],
      [false, "replaced"],
      [true, "connected"],
    ]);
    expect(cloud.hub.session(device.id)?.remoteAddress).toBe("10.9.9.9");
    await settle();
    expect((await cloud.devices.get(device.id)).online).toBe(true);
  });

  it.each([
    [1000, "client_closed"],
    [1006, "connection_lost"],
  ])("records a device hang-up with code %s as %s", async (code, reason) => {
    const { online, presence } = await setup();
    const { conn } = await online();
    conn.hangUp(code);
    expect(presence.at(-1)).toMatchObject({ online: false, reason });
  });

  it("answers an invalid PDU with an error and keeps the session; garbage closes it", async () => {
    const { online, cloud } = await setup();
    const { conn, device } = await online();
    conn.sendRaw('{"type":"ping","seq":"one"}');
    expect(conn.last("error")).toMatchObject({ code: ErrorCode.INVALID_PDU });
    conn.sendRaw('{"type":"teleport","id":"x1"}');
    expect(conn.last("error")).toMatchObject({ code: ErrorCode.UNKNOWN_TYPE, ref: "x1" });
    expect(conn.closedWith).toBeUndefined();
    conn.sendRaw("{{{{");
    await closed(conn);
    expect(conn.last("error")).toMatchObject({ code: ErrorCode.INVALID_JSON });
    expect(conn.closedWith?.code).toBe(CloseCode.PROTOCOL_VIOLATION);
    expect(cloud.hub.session(device.id)).toBeUndefined();
  });

  it("closes a session whose send buffer stays above the bound (4011)", async () => {
    const { online, cloud } = await setup({ hub: { maxBufferedBytes: 1000 } });
    const { conn, device } = await online();
    conn.bufferedAmount = 5000;
    conn.sendPdu({ type: "ping", seq: 1 });
    await closed(conn);
    expect(conn.closedWith?.code).toBe(CloseCode.BACKPRESSURE);
    expect(cloud.hub.session(device.id)).toBeUndefined();
  });
});

describe("admission control", () => {
  it("beyond the handshake bound, new connections get 4008 with a retry-after hint", async () => {
    const { cloud } = await setup({ hub: { maxHandshakes: 2, tryLaterMs: [1000, 2000] } });
    const a = new FakeDevice(cloud.hub);
    const b = new FakeDevice(cloud.hub);
    const c = new FakeDevice(cloud.hub);
    await settle();
    expect(a.closedWith).toBeUndefined();
    expect(b.closedWith).toBeUndefined();
    expect(c.closedWith?.code).toBe(CloseCode.TRY_LATER);
    const retry = parseRetryAfter(c.closedWith?.reason);
    expect(retry).toBeGreaterThanOrEqual(1000);
    expect(retry).toBeLessThanOrEqual(2000);
    expect(cloud.hub.stats.tryLater).toBe(1);
  });

  it("beyond the per-address handshake bound, that address gets 4008; others still get in", async () => {
    const { cloud, online } = await setup({ hub: { maxHandshakesPerAddress: 2, tryLaterMs: [1000, 2000] } });
    const idle = [new FakeDevice(cloud.hub, "192.0.2.1"), new FakeDevice(cloud.hub, "192.0.2.1")];
    const third = new FakeDevice(cloud.hub, "192.0.2.1");
    await settle();
    expect(idle.map((c) => c.closedWith)).toEqual([undefined, undefined]);
    expect(third.closedWith?.code).toBe(CloseCode.TRY_LATER);
    expect(parseRetryAfter(third.closedWith?.reason)).toBeGreaterThanOrEqual(1000);
    expect(cloud.hub.stats.tryLaterPerAddress).toBe(1);
    expect((await online()).welcome).toBeDefined(); // from 10.0.0.1
    idle[0]?.hangUp();
    await settle();
    expect(new FakeDevice(cloud.hub, "192.0.2.1").closedWith).toBeUndefined();
  });

  it("a hello cannot set the device's (serialNumber, model): only its NICs are refreshed", async () => {
    const { cloud } = await setup();
    const { device, secret } = await cloud.devices.register({ name: "squatter" });
    const conn = new FakeDevice(cloud.hub);
    const nics = [{ type: "ethernet", name: "eth0", mac: "00:11:22:33:44:55" }];
    conn.sendPdu(
      hello({ deviceId: device.id, secret, hardware: { serialNumber: "SN-9", model: "M-9", nics } }),
    );
    await until(() => conn.received.length > 0, "welcome");
    await settle();
    expect((await cloud.devices.get(device.id)).hardware).toEqual({ nics });
    const genuine = await cloud.devices.register({
      name: "genuine",
      hardware: { serialNumber: "SN-9", model: "M-9" },
    });
    expect(genuine.device.hardware).toMatchObject({ serialNumber: "SN-9", model: "M-9" });
  });

  it("bounds concurrent bcrypt checks (4008 + retry-after) without holding back token resumes", async () => {
    const { cloud, online } = await setup({ auth: { maxConcurrentSecretChecks: 1 } });
    const a = await online("a");
    const { device: b, secret: secretB } = await cloud.devices.register({ name: "b" });
    const first = new FakeDevice(cloud.hub, "10.5.0.1");
    const second = new FakeDevice(cloud.hub, "10.5.0.2");
    const resume = new FakeDevice(cloud.hub, "10.5.0.3");
    first.sendPdu(hello({ deviceId: b.id, secret: secretB }));
    second.sendPdu(hello({ deviceId: b.id, secret: secretB }));
    resume.sendPdu(hello({ deviceId: a.device.id, token: a.welcome!.token }));
    await until(
      () => second.closedWith !== undefined && resume.received.length > 0 && first.received.length > 0,
      "outcomes",
    );
    expect(second.closedWith?.code).toBe(CloseCode.TRY_LATER);
    expect(parseRetryAfter(second.closedWith?.reason)).toBeGreaterThanOrEqual(1_000);
    expect(second.last("error")).toMatchObject({ code: ErrorCode.TRY_LATER });
    expect(first.last("welcome")).toBeDefined();
    expect(resume.last("welcome")).toBeDefined();
    expect(cloud.hub.stats.handshakes.failed).toEqual({});
  });

  it("beyond the session bound, new connections get 4008", async () => {
    const { online, cloud } = await setup({ hub: { maxSessions: 1 } });
    await online();
    const extra = new FakeDevice(cloud.hub);
    expect(extra.closedWith?.code).toBe(CloseCode.TRY_LATER);
  });
});

describe("graceful shutdown", () => {
  it("sends every device bye with its own jittered retry-after, then closes 4009", async () => {
    const { online, cloud, presence, forget } = await setup();
    const devices = [await online("a"), await online("b"), await online("c")];
    await cloud.close({ spreadMs: 30_000, graceMs: 0 });
    forget();
    const hints = devices.map(({ conn }) => {
      const bye = conn.last("bye");
      expect(bye).toMatchObject({ type: "bye", reason: "server_shutdown" });
      expect(conn.closedWith?.code).toBe(CloseCode.SERVER_SHUTDOWN);
      expect(parseRetryAfter(conn.closedWith?.reason)).toBe(bye?.retryAfterMs);
      return bye?.retryAfterMs;
    });
    expect(new Set(hints).size).toBeGreaterThan(1);
    expect(presence.filter((p) => !p.online).map((p) => p.reason)).toEqual([
      "server_shutdown",
      "server_shutdown",
      "server_shutdown",
    ]);
  });
});

describe("registrations of the services", () => {
  it("merges what every handshake contributor says into welcome, later ones over earlier", async () => {
    const { online, cloud } = await setup();
    cloud.hub.onHandshake(async () => ({ reportedVersion: 7 }));
    cloud.hub.onHandshake(async () => ({
      desiredVersion: 3,
      desired: { version: 3, patch: { a: 1 }, full: true },
    }));
    const { device, welcome } = await online();
    expect(welcome).toMatchObject({
      reportedVersion: 7,
      desired: { version: 3, patch: { a: 1 }, full: true },
    });
    expect(cloud.hub.session(device.id)?.desiredVersion).toBe(3);
  });

  it("refuses a second handler for a kind of bus request the broker already serves", async () => {
    const { cloud } = await setup();
    expect(() => cloud.hub.serve("deliver", async () => ({ ok: true }))).toThrow(/deliver/);
    expect(() => cloud.bus.serve("desired", async () => ({ ok: true }))).toThrow(/desired/);
  });

  it("serves bus requests for devices with a session here only; disconnect keeps the named session", async () => {
    const { online, cloud, presence } = await setup();
    const { device, conn } = await online();
    const session = cloud.hub.session(device.id);
    const disconnect = { kind: "disconnect", closeCode: CloseCode.REPLACED, reason: "replaced" } as const;
    expect(await cloud.bus.request(device.id, { ...disconnect, keepSessionId: session?.id })).toEqual({
      ok: true,
    });
    expect(conn.closedWith).toBeUndefined();
    expect(await cloud.bus.request(device.id, disconnect)).toEqual({ ok: true });
    expect(conn.closedWith?.code).toBe(CloseCode.REPLACED);
    expect(presence.at(-1)).toMatchObject({ online: false, reason: "replaced" });
    expect(await cloud.bus.request(device.id, disconnect)).toBe("no_responders");
  });
});
