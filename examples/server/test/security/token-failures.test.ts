// Issue #21.8: token-only hello failures are rate-limited like secret failures, and failed
// logins are merged in the event log: at most one `auth_failed` row per device per window.
import { TrustedProxies } from "@cloudedge/cloud-sdk";
import { afterEach, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server-fixture.js";
import { summary, tryHello } from "./attacker.js";

let server: TestServer;
afterEach(() => server.close());

it("200 bogus tokens: 4012 once, then 4010; a single event-log row so far; the device resumes", async () => {
  server = await startTestServer({ ws: { trustedProxies: TrustedProxies.parse("127.0.0.1") } });
  const { body } = await server.api("POST", "/api/v1/devices", { body: { name: "victim" } });
  const first = await tryHello(server.wsUrl, { deviceId: body.id, secret: body.secret }, "203.0.113.9");
  await first.device.close();

  const forged = `v1.${body.id}.1.${Date.now() + 3_600_000}.${"A".repeat(43)}`;
  const seen: string[] = [];
  for (let i = 0; i < 200; i++)
    seen.push(summary(await tryHello(server.wsUrl, { deviceId: body.id, token: forged }, "198.51.100.1")));
  expect(seen[0]).toBe("4012 token_rejected");
  expect(seen.slice(1)).toEqual(Array(199).fill("4010 rate_limited"));

  const events = await server.api("GET", `/api/v1/devices/${body.id}/events?kind=auth_failed`);
  expect(events.status).toBe(200);
  // The first failure is written at once; the rest of the window is one row at its end.
  expect(events.body.items).toHaveLength(1);
  expect(events.body.items[0]).toMatchObject({
    kind: "auth_failed",
    reason: "token_rejected",
    data: { remoteAddress: "198.51.100.1", count: 1 },
  });

  const resumed = await tryHello(
    server.wsUrl,
    { deviceId: body.id, token: first.welcome?.token },
    "198.51.100.1",
  );
  expect(summary(resumed)).toBe("welcome");
});

it("when a window ends, the failures in it become one row with their count", async () => {
  const windowMs = 1_000;
  server = await startTestServer({ cloud: { authFailureWindowMs: windowMs } });
  const { body } = await server.api("POST", "/api/v1/devices", { body: { name: "victim" } });
  const began = Date.now();
  for (let i = 0; i < 30; i++)
    await tryHello(server.wsUrl, { deviceId: body.id, token: `v1.${body.id}.1.1.x${i}` });
  const windows = Math.ceil((Date.now() - began) / windowMs);
  const rows = async () =>
    (await server.api("GET", `/api/v1/devices/${body.id}/events?kind=auth_failed`)).body.items as Array<{
      data: { count: number; reasons?: Record<string, number> };
    }>;
  const counted = async () => (await rows()).reduce((sum, row) => sum + row.data.count, 0);
  await expect.poll(counted, { timeout: 10_000 }).toBe(30);
  const written = await rows();
  // The first row at once, then at most one per window that had failures.
  expect(written.length).toBeLessThanOrEqual(1 + windows);
  expect(written.at(-1)?.data.count).toBe(1); // oldest
  expect(written[0]?.data.reasons).toEqual({ rate_limited: written[0]?.data.count });
});
