import { afterEach, describe, expect, it } from "vitest";
import { bcryptStats, FailureRateLimiter } from "../src/index.js";
import { createTeardown } from "../src/testing/teardown.js";
import { makeCloud } from "./support/cloud-fixture.js";
import { hello } from "./support/fake-device.js";
import { ManualClock } from "./support/manual-clock.js";

const teardown = createTeardown(afterEach);
const WRONG = "wrong-secret-wrong-secret";

describe("failure rate limiter: reservations, in-flight cap, soft backoff", () => {
  it("counts reserved attempts toward the limit, so concurrent ones cannot overshoot it", () => {
    const limiter = new FailureRateLimiter(
      { maxFailures: 3, windowMs: 60_000, lockMs: 60_000 },
      new ManualClock(),
    );
    let started = 0;
    for (let i = 0; i < 100; i++) {
      if (limiter.wait("k") === 0) {
        limiter.begin("k");
        started++;
      }
    }
    expect(started).toBe(3);
    for (let i = 0; i < 3; i++) limiter.fail("k");
    expect(limiter.retryAfter("k")).toBe(60_000);
  });

  it("caps attempts in flight; a success frees the slot and clears the failures", () => {
    const limiter = new FailureRateLimiter(
      { maxFailures: 5, windowMs: 60_000, lockMs: 60_000, maxInFlight: 1, backoffMs: 700 },
      new ManualClock(),
    );
    limiter.begin("k");
    expect(limiter.wait("k")).toBe(700);
    limiter.fail("k");
    expect(limiter.wait("k")).toBe(0);
    limiter.begin("k");
    limiter.succeed("k");
    expect(limiter.size).toBe(0);
  });

  it("backs off softly (doubling) after the free failures, then locks hard", async () => {
    const clock = new ManualClock();
    const limiter = new FailureRateLimiter(
      { maxFailures: 5, windowMs: 60_000, lockMs: 30_000, freeFailures: 2, backoffMs: 1_000 },
      clock,
    );
    limiter.fail("k");
    expect(limiter.wait("k")).toBe(0);
    limiter.fail("k");
    expect(limiter.wait("k")).toBe(1_000);
    await clock.advance(1_000);
    limiter.fail("k");
    expect(limiter.wait("k")).toBe(2_000);
    await clock.advance(2_000);
    limiter.fail("k");
    expect(limiter.wait("k")).toBe(4_000);
    await clock.advance(4_000);
    expect(limiter.fail("k")).toBe(30_000);
    expect(limiter.wait("k")).toBe(30_000);
  });
});

describe("device authenticator under attack", () => {
  async function setup(overrides: Parameters<typeof makeCloud>[0] = {}) {
    const fixture = await makeCloud(overrides);
    teardown.add(() => fixture.cloud.close({ graceMs: 0 }));
    const { device, secret } = await fixture.cloud.devices.register({ name: "victim" });
    const login = (fields: Record<string, unknown>, address: string) =>
      fixture.cloud.authenticator.authenticate(hello({ deviceId: device.id, ...fields }) as never, address);
    return { ...fixture, device, secret, login };
  }

  it("100 concurrent wrong secrets from one address run bcrypt once; the rest are rate_limited at once", async () => {
    const { login } = await setup();
    const before = bcryptStats.verifications;
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () => login({ secret: WRONG }, "198.51.100.1")),
    );
    expect(bcryptStats.verifications - before).toBe(1);
    expect(outcomes.filter((o) => !o.ok && o.reason === "rate_limited")).toHaveLength(99);
  });

  it("the attacker's address gets locked; the device's own address and its token still get in", async () => {
    const { login, secret, clock } = await setup();
    const before = bcryptStats.verifications;
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await login({ secret: WRONG }, "198.51.100.1");
      codes.push(outcome.ok ? "ok" : `${outcome.code} ${outcome.retryAfterMs ?? ""}`.trim());
      const hint = outcome.ok ? 0 : (outcome.retryAfterMs ?? 0);
      if (hint > 0) {
        // Trying before the hint is answered at once, without bcrypt.
        await clock.advance(hint - 1);
        expect(await login({ secret: WRONG }, "198.51.100.1")).toMatchObject({ reason: "rate_limited" });
        await clock.advance(1);
      }
    }
    // The first failure is free; then each is told to wait (1 s doubling); the 5th locks for 60 s.
    expect(codes).toEqual([
      "auth_failed",
      "rate_limited 1000",
      "rate_limited 2000",
      "rate_limited 4000",
      "rate_limited 60000",
    ]);
    expect(bcryptStats.verifications - before).toBe(5);
    const genuine = await login({ secret }, "203.0.113.9");
    expect(genuine).toMatchObject({ ok: true, via: "secret" });
  });

  it("a valid resume token is never held by a secret lockout, even from the locked address", async () => {
    const { login, secret, cloud, device, clock } = await setup({
      auth: { perDevice: { maxFailures: 3, windowMs: 60_000, lockMs: 60_000 } },
    });
    const { token } = cloud.tokens.issue(device.id, 1, clock.now());
    for (const address of ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
      await login({ secret: WRONG }, address);
    expect(await login({ secret }, "203.0.113.9")).toMatchObject({ ok: false, reason: "rate_limited" });
    expect(await login({ token }, "198.51.100.1")).toMatchObject({ ok: true, via: "token" });
  });

  it("rate-limits forged tokens per address like secret failures, without bcrypt", async () => {
    const { login, device, cloud, clock } = await setup();
    const before = bcryptStats.verifications;
    const forged = `v1.${device.id}.1.${clock.now() + 60_000}.${"A".repeat(43)}`;
    const reasons: string[] = [];
    for (let i = 0; i < 25; i++) {
      const outcome = await login({ token: forged }, "198.51.100.7");
      reasons.push(outcome.ok ? "ok" : outcome.reason);
    }
    expect(reasons.slice(0, 2)).toEqual(["token_rejected", "rate_limited"]);
    expect(reasons.at(-1)).toBe("rate_limited");
    expect(bcryptStats.verifications).toBe(before);
    const { token } = cloud.tokens.issue(device.id, 1, clock.now());
    expect(await login({ token }, "198.51.100.7")).toMatchObject({ ok: true });
  });

  it("successful secret logins leave nothing in the limiters (memory grows only with failures)", async () => {
    const { login, secret, cloud } = await setup();
    for (let i = 0; i < 5; i++) expect(await login({ secret }, `203.0.113.${i}`)).toMatchObject({ ok: true });
    const { byDevice, byDeviceAddress, byAddress } = cloud.authenticator.limits;
    expect([byDevice.size, byDeviceAddress.size, byAddress.size]).toEqual([0, 0, 0]);
  });

  it("checks unknown devices against a dummy hash made at the configured cost", async () => {
    const { cloud } = await setup({ bcryptCost: 5 });
    expect(await cloud.authenticator.dummyHash).toMatch(/^\$2b\$05\$/);
  });
});
