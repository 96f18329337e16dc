// Issue #21.2: the login rate limit holds under concurrency — attempts are reserved before
// bcrypt, and in-flight checks are capped per device, per (device, address) and per address.
import { bcryptStats, TrustedProxies } from "@cloudedge/cloud-sdk";
import { afterEach, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server-fixture.js";
import { summary, tryHello } from "./attacker.js";

let server: TestServer;
afterEach(() => server.close());

it("100 concurrent wrong secrets for one device from one address: bcrypt runs at most 5 times, the rest get 4010 at once", async () => {
  server = await startTestServer({ ws: { trustedProxies: TrustedProxies.parse("127.0.0.1") } });
  const { body } = await server.api("POST", "/api/v1/devices", { body: { name: "victim" } });
  const before = bcryptStats.verifications;
  const seen = await Promise.all(
    Array.from({ length: 100 }, () =>
      tryHello(server.wsUrl, { deviceId: body.id, secret: "wrong-secret-wrong-secret" }, "198.51.100.1"),
    ),
  );
  // The documented limit is 5 failures per (device, address) per minute: no more bcrypt than that.
  expect(bcryptStats.verifications - before).toBeLessThanOrEqual(5);
  const limited = seen.filter((s) => summary(s) === "4010 rate_limited");
  expect(limited.length).toBeGreaterThanOrEqual(95);
  for (const s of limited) expect(s.retryAfterMs).toBeGreaterThan(0);
  expect(seen.every((s) => ["4001 auth_failed", "4010 rate_limited"].includes(summary(s)))).toBe(true);

  // The genuine device, from its own address, is not held back by the attacker's burst.
  const genuine = await tryHello(server.wsUrl, { deviceId: body.id, secret: body.secret }, "203.0.113.9");
  expect(summary(genuine)).toBe("welcome");
});

it("concurrent wrong secrets spread over many devices from one address are capped per address too", async () => {
  server = await startTestServer({ ws: { trustedProxies: TrustedProxies.parse("127.0.0.1") } });
  const before = bcryptStats.verifications;
  const seen = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      tryHello(
        server.wsUrl,
        { deviceId: String(900_000 + i), secret: "guess-guess-guess-1" },
        "198.51.100.2",
      ),
    ),
  );
  // 20 failures per address per minute, reserved before bcrypt: never more checks than that.
  expect(bcryptStats.verifications - before).toBeLessThanOrEqual(20);
  expect(seen.filter((s) => summary(s) === "4010 rate_limited").length).toBeGreaterThanOrEqual(40);
});
