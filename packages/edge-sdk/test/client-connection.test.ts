import { afterEach, describe, expect, it } from "vitest";
import type { EdgeClient } from "../src/edge-client.js";
import type { OfflineInfo } from "../src/events.js";
import { MemoryStorage } from "../src/storage.js";
import { harness, SECRET } from "./support/client-harness.js";
import { settle } from "./support/manual-clock.js";

const clients: EdgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function track<T extends { client: EdgeClient }>(h: T): T {
  clients.push(h.client);
  return h;
}

describe("EdgeClient handshake (docs/protocol.md §4.1)", () => {
  it("sends hello with the secret first, then resumes with the stored token", async () => {
    const h = track(harness({ agent: { name: "test-agent", version: "9.9" }, bootId: "boot-1" }));
    const states: string[] = [];
    h.client.on("state", (s) => states.push(s));
    await h.connect({ token: "tok-A" });
    const first = h.net.sockets[0]!.of("hello")[0]!;
    expect(first).toMatchObject({
      versions: [1],
      deviceId: "1001",
      secret: SECRET,
      agent: { name: "test-agent", version: "9.9" },
      bootId: "boot-1",
      desiredVersion: 0,
    });
    expect(first.token).toBeUndefined();
    expect(states).toEqual(["connecting", "authenticating", "online"]);
    expect(h.client.online).toBe(true);

    h.net.last().serverClose(4004, "replaced");
    await h.clock.advance(2_000); // random 0.5 → 1 s
    await h.accept({ token: "tok-B" });
    const second = h.net.sockets[1]!.of("hello")[0]!;
    expect(second.token).toBe("tok-A");
    expect(second.secret).toBeUndefined();
    expect(await h.storage.load("token")).toMatchObject({ token: "tok-B" });
  });

  it("falls back to the secret at once when the token is rejected (4012)", async () => {
    const storage = new MemoryStorage();
    await storage.save("token", { token: "stale", expiresAt: 1_900_000_000_000 });
    const h = track(harness({ storage }));
    const offline: OfflineInfo[] = [];
    h.client.on("offline", (info) => offline.push(info));
    await h.client.start();
    const s1 = h.net.last();
    s1.open();
    expect(s1.of("hello")[0]).toMatchObject({ token: "stale" });
    s1.deliver({ type: "error", code: "token_rejected", message: "token rejected" });
    s1.serverClose(4012, "token_rejected");
    await settle();
    expect(offline[0]).toMatchObject({ code: 4012, advice: "reauthenticate", delayMs: 0, attempt: 0 });
    await h.clock.advance(0);
    expect(h.net.sockets).toHaveLength(2);
    h.net.last().open();
    const hello = h.net.last().of("hello")[0]!;
    expect(hello.secret).toBe(SECRET);
    expect(hello.token).toBeUndefined();
    expect(await storage.load("token")).toBeUndefined();
  });

  it("skips a token that has expired by the hub's clock", async () => {
    const storage = new MemoryStorage();
    await storage.save("token", { token: "old", expiresAt: 1_000 });
    const h = track(harness({ storage }));
    await h.client.start();
    h.net.last().open();
    expect(h.net.last().of("hello")[0]).toMatchObject({ secret: SECRET });
  });

  it("identifies by serial number and model, then stores the id from welcome", async () => {
    const h = track(harness({ deviceId: undefined, serialNumber: "SN-1", model: "gw" }));
    await h.connect({ deviceId: "777" });
    expect(h.net.last().of("hello")[0]).toMatchObject({ serialNumber: "SN-1", model: "gw" });
    expect(h.client.deviceId).toBe("777");
    expect(await h.storage.load("deviceId")).toBe("777");
  });

  it("asks a hardware function at every hello, so re-read facts reach the next session", async () => {
    let nics = [{ name: "eth0", mac: "02:00:00:00:00:01" }];
    const h = track(harness({ hardware: () => ({ nics }), random: () => 0 }));
    const first = await h.connect();
    expect(first.of("hello")[0]?.hardware).toEqual({ nics });
    nics = [{ name: "wlan0", mac: "02:00:00:00:00:02" }];
    first.serverClose(1006, "");
    await settle();
    await h.clock.advance(60_000);
    const second = await h.accept();
    expect(second.of("hello")[0]?.hardware).toEqual({ nics: [{ name: "wlan0", mac: "02:00:00:00:00:02" }] });
  });

  it("auth failures surface an event and back off long, and never give up", async () => {
    const h = track(harness());
    const failures: number[] = [];
    const delays: number[] = [];
    h.client.on("authFailed", (info) => failures.push(info.code));
    h.client.on("offline", (info) => delays.push(info.delayMs));
    await h.client.start();
    for (let i = 0; i < 8; i++) {
      h.net.last().open();
      h.net.last().serverClose(4001, "auth_failed");
      await settle();
      await h.clock.advance(60_000);
    }
    expect(failures).toHaveLength(8);
    expect(delays.every((d) => d >= 30_000 && d <= 60_000)).toBe(true);
    expect(h.net.sockets).toHaveLength(9); // the original agent stopped after 5
  });

  it("without any credentials it reports no_credentials and keeps retrying slowly", async () => {
    const h = track(harness({ secret: undefined }));
    const errors: string[] = [];
    h.client.on("error", (e) => errors.push(e.code));
    const failures: string[] = [];
    h.client.on("authFailed", (i) => failures.push(i.reason));
    await h.client.start();
    expect(errors).toEqual(["no_credentials"]);
    expect(failures).toEqual(["no_credentials"]);
    expect(h.net.sockets).toHaveLength(0);
    expect(h.client.state).toBe("backoff");
  });

  it("drops a handshake that does not finish in time", async () => {
    const h = track(harness({ handshakeTimeoutMs: 5_000 }));
    const offline: OfflineInfo[] = [];
    h.client.on("offline", (info) => offline.push(info));
    await h.client.start();
    h.net.last().open();
    await h.clock.advance(4_999);
    expect(offline).toHaveLength(0);
    await h.clock.advance(1);
    expect(offline[0]).toMatchObject({ reason: "handshake_timeout", wasOnline: false });
    expect(h.net.sockets[0]!.terminated).toBe(true);
  });

  it("close() says bye and closes with 1000; no reconnect afterwards", async () => {
    const h = harness();
    const socket = await h.connect();
    await h.client.close("maintenance");
    expect(socket.of("bye")).toEqual([{ type: "bye", reason: "client_shutdown", message: "maintenance" }]);
    expect(socket.closedWith).toEqual({ code: 1000, reason: "client_shutdown" });
    await h.clock.advance(600_000);
    expect(h.net.sockets).toHaveLength(1);
    expect(h.client.state).toBe("closed");
  });
});

describe("EdgeClient heartbeat (§4.3), in virtual time", () => {
  it("pings every interval with seq from 0 and stays up while pongs come", async () => {
    const h = track(harness());
    const socket = await h.connect({ heartbeatMs: 1_000 });
    for (let i = 0; i < 10; i++) {
      await h.clock.advance(1_000);
      const ping = socket.of("ping").at(-1)!;
      expect(ping.seq).toBe(i);
      socket.deliver({ type: "pong", seq: ping.seq, serverTime: h.clock.now() + 5_000 });
    }
    expect(h.client.online).toBe(true);
    expect(socket.terminated).toBe(false);
    expect(h.client.hubNow() - h.clock.now()).toBe(5_000); // offset from the round trip
  });

  it("drops the link after 2 intervals without a pong, then reconnects after backoff", async () => {
    const h = track(harness({ random: () => 0.25 }));
    const offline: OfflineInfo[] = [];
    h.client.on("offline", (info) => offline.push(info));
    const socket = await h.connect({ heartbeatMs: 1_000 });
    await h.clock.advance(1_000);
    socket.deliver({ type: "pong", seq: 0, serverTime: h.clock.now() });
    const lastPong = h.clock.now();
    await h.clock.advance(1_999);
    expect(socket.terminated).toBe(false);
    await h.clock.advance(1);
    expect(h.clock.now() - lastPong).toBe(2_000);
    expect(socket.terminated).toBe(true);
    expect(offline[0]).toMatchObject({
      code: 1006,
      reason: "pong_timeout",
      wasOnline: true,
      advice: "reconnect",
    });
    expect(offline[0]!.delayMs).toBe(500); // 0.25 · min(60 s, 1 s · 2¹)
    expect(h.net.sockets).toHaveLength(1);
    await h.clock.advance(500);
    expect(h.net.sockets).toHaveLength(2);
  });

  it("counts the dead-link deadline from welcome until the first pong", async () => {
    const h = track(harness());
    const socket = await h.connect({ heartbeatMs: 5_000 });
    await h.clock.advance(9_999);
    expect(socket.terminated).toBe(false);
    await h.clock.advance(1);
    expect(socket.terminated).toBe(true);
  });
});

describe("EdgeClient reconnect policy", () => {
  it("honours bye.retryAfterMs and the 4009 retry-after reason", async () => {
    const h = track(harness({ random: () => 0 }));
    const socket = await h.connect();
    socket.deliver({ type: "bye", reason: "server_shutdown", retryAfterMs: 4_200 });
    socket.serverClose(4009, "retry-after=4200");
    await settle();
    await h.clock.advance(4_199);
    expect(h.net.sockets).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.net.sockets).toHaveLength(2);
  });

  it("uses the bye hint when the connection then drops without a close frame", async () => {
    const h = track(harness({ random: () => 0 }));
    const socket = await h.connect();
    socket.deliver({ type: "bye", reason: "server_shutdown", retryAfterMs: 3_000 });
    socket.serverClose(1006, "");
    await h.clock.advance(2_999);
    expect(h.net.sockets).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.net.sockets).toHaveLength(2);
  });

  it("a hub that accepts and drops at once does not reset the backoff", async () => {
    const h = track(harness({ random: () => 0.999 }));
    const delays: number[] = [];
    h.client.on("offline", (info) => delays.push(info.delayMs));
    await h.client.start();
    for (let i = 0; i < 5; i++) {
      const socket = await h.accept();
      socket.serverClose(1011, "");
      await h.clock.advance(delays.at(-1)!);
    }
    expect(delays).toEqual([1998, 3996, 7992, 15984, 31968]);
  });

  it("resets after a session stayed up for the reset period", async () => {
    const h = track(
      harness({ random: () => 0.999, backoff: { baseMs: 1_000, capMs: 60_000, resetAfterMs: 60_000 } }),
    );
    const delays: number[] = [];
    h.client.on("offline", (info) => {
      delays.push(info.delayMs);
    });
    await h.client.start();
    for (let i = 0; i < 3; i++) {
      const socket = await h.accept();
      socket.serverClose(1011, "");
      await h.clock.advance(delays.at(-1)!);
    }
    const socket = await h.accept({ heartbeatMs: 30_000 });
    for (let i = 0; i < 2; i++) {
      await h.clock.advance(30_000);
      socket.deliver({ type: "pong", seq: i, serverTime: h.clock.now() });
    }
    socket.serverClose(4005, "heartbeat_timeout");
    await settle();
    expect(delays).toEqual([1998, 3996, 7992, 1998]);
  });

  it("treats try_later (4008) like the hint says", async () => {
    const h = track(harness({ random: () => 0 }));
    const offline: OfflineInfo[] = [];
    h.client.on("offline", (i) => offline.push(i));
    await h.client.start();
    h.net.last().serverClose(4008, "retry-after=17000");
    await settle();
    expect(offline[0]).toMatchObject({ advice: "retry_after", delayMs: 17_000, wasOnline: false });
    expect(h.client.state).toBe("backoff");
  });
});

describe("EdgeClient decoding of hub PDUs (§2.3)", () => {
  it("answers an invalid PDU with error and carries on; closes on unsafe input", async () => {
    const h = track(harness());
    const socket = await h.connect();
    socket.deliver({ type: "cmd", id: "bad id!", method: "x", deadline: 1, timeoutMs: 1 });
    expect(socket.of("error" as never).at(-1)).toMatchObject({ code: "invalid_pdu" });
    socket.deliver({ type: "future_pdu" });
    expect(socket.of("error" as never).at(-1)).toMatchObject({ code: "unknown_type" });
    socket.deliver({ type: "ack", id: "c1" });
    expect(socket.of("error" as never).at(-1)).toMatchObject({ code: "unexpected_pdu" });
    // An invalid error PDU is never answered with an error.
    const before = socket.sent.length;
    socket.deliver({ type: "error", code: "BAD CODE", message: "x" });
    expect(socket.sent.length).toBe(before);
    expect(h.client.online).toBe(true);
    socket.deliverRaw("{not json");
    expect(socket.of("error" as never).at(-1)).toMatchObject({ code: "invalid_json" });
    expect(socket.closedWith).toEqual({ code: 4000, reason: "invalid_json" });
    expect(h.client.state).toBe("backoff");
  });
});
