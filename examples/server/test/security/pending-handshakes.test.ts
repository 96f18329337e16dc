// Issue #21.4: pending (pre-auth) handshakes are capped per client address (default 32), so
// idle upgrades from one client cannot fill the hub's handshake slots.
import { TrustedProxies } from "@cloudedge/cloud-sdk";
import { parseRetryAfter } from "@cloudedge/protocol";
import { afterEach, expect, it } from "vitest";
import { WsDevice } from "../../../../packages/cloud-sdk/test/support/ws-device.js";
import { startTestServer, type TestServer } from "../support/server-fixture.js";
import { summary, tryHello } from "./attacker.js";

let server: TestServer;
afterEach(() => server.close());

/** Opens idle upgrades (no hello) and returns them. */
const idle = (url: string, count: number, from?: string) =>
  Promise.all(
    Array.from({ length: count }, () =>
      WsDevice.open(url, from ? { headers: { "X-Forwarded-For": from } } : {}),
    ),
  );

it("behind a trusted proxy, the 33rd idle upgrade from one client gets 4008; another client's device connects", async () => {
  server = await startTestServer({
    ws: { trustedProxies: TrustedProxies.parse("127.0.0.1") },
    cloud: { hub: { maxHandshakes: 100 } },
  });
  const held = await idle(server.wsUrl, 32, "198.51.100.1");
  const extra = await WsDevice.open(server.wsUrl, { headers: { "X-Forwarded-For": "198.51.100.1" } });
  const closed = await extra.closed;
  expect(closed.code).toBe(4008);
  expect(parseRetryAfter(closed.reason)).toBeGreaterThanOrEqual(1_000);
  expect(held.every((d) => d.ws.readyState === d.ws.OPEN)).toBe(true);

  const { body } = await server.api("POST", "/api/v1/devices", { body: { name: "genuine" } });
  const genuine = await tryHello(server.wsUrl, { deviceId: body.id, secret: body.secret }, "203.0.113.9");
  expect(summary(genuine)).toBe("welcome");
});

it("without trusted proxies X-Forwarded-For cannot dodge the cap: the TCP peer is the client", async () => {
  server = await startTestServer({ cloud: { hub: { maxHandshakesPerAddress: 4 } } });
  await Promise.all([0, 1, 2, 3].map((i) => idle(server.wsUrl, 1, `198.51.100.${i}`)));
  const extra = await WsDevice.open(server.wsUrl, { headers: { "X-Forwarded-For": "192.0.2.77" } });
  expect((await extra.closed).code).toBe(4008);
});
