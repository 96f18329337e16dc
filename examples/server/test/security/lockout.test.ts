// Issue #21.3: no one can lock a known device out. Failures lock the attacker's
// (device, address) pair after a soft backoff; the per-device limit over all addresses is
// much higher; a valid resume token is never held back by any of them.
import { TrustedProxies } from "@cloudedge/cloud-sdk";
import { afterEach, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server-fixture.js";
import { type Seen, summary, tryHello } from "./attacker.js";

let server: TestServer;
afterEach(() => server.close());

const WRONG = "wrong-secret-wrong-secret";
const viaProxy = { ws: { trustedProxies: TrustedProxies.parse("127.0.0.1") } };

async function victim() {
  const { body } = await server.api("POST", "/api/v1/devices", { body: { name: "victim" } });
  const first = await tryHello(server.wsUrl, { deviceId: body.id, secret: body.secret }, "203.0.113.9");
  await first.device.close();
  return { id: body.id as string, secret: body.secret as string, token: first.welcome?.token as string };
}

it("an attacker hammering wrong secrets is backed off after one failure; the device still gets in with its token and its secret", async () => {
  server = await startTestServer(viaProxy);
  const { id, secret, token } = await victim();
  const seen: Seen[] = [];
  for (let i = 0; i < 10; i++)
    seen.push(await tryHello(server.wsUrl, { deviceId: id, secret: WRONG }, "198.51.100.1"));
  expect(summary(seen[0] as Seen)).toBe("4001 auth_failed");
  // After the free failure each try is told to wait; trying anyway changes nothing.
  expect(seen.slice(1).map(summary)).toEqual(Array(9).fill("4010 rate_limited"));
  expect(seen[1]?.retryAfterMs).toBe(1_000);
  expect(seen[1]?.error?.retryAfterMs).toBe(1_000);

  // The genuine device: its token works even from the attacker's (locked) address …
  const resumed = await tryHello(server.wsUrl, { deviceId: id, token }, "198.51.100.1");
  expect(summary(resumed)).toBe("welcome");
  await resumed.device.close();
  // … and its secret from its own address.
  expect(summary(await tryHello(server.wsUrl, { deviceId: id, secret }, "203.0.113.9"))).toBe("welcome");
});

it("a botnet past the per-device limit holds the device's secret logins, never its token resumes", async () => {
  server = await startTestServer({
    ...viaProxy,
    // The per-device limit (default 100 failures/min over all addresses) lowered so 10 addresses reach it.
    cloud: { auth: { perDevice: { maxFailures: 10, windowMs: 60_000, lockMs: 60_000 } } },
  });
  const { id, secret, token } = await victim();
  for (let i = 0; i < 10; i++)
    await tryHello(server.wsUrl, { deviceId: id, secret: WRONG }, `198.51.100.${10 + i}`);
  const bySecret = await tryHello(server.wsUrl, { deviceId: id, secret }, "203.0.113.9");
  expect(summary(bySecret)).toBe("4010 rate_limited");
  expect(bySecret.retryAfterMs).toBeGreaterThan(50_000);
  const byToken = await tryHello(server.wsUrl, { deviceId: id, token }, "203.0.113.9");
  expect(summary(byToken)).toBe("welcome");
  expect(byToken.welcome?.deviceId).toBe(id);
});
