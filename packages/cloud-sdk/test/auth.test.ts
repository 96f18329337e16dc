import { describe, expect, it } from "vitest";
import { FailureRateLimiter, generateSecret, hashSecret, ResumeTokens, verifySecret } from "../src/index.js";
import { ManualClock } from "./support/manual-clock.js";

const KEY = "0123456789abcdef".repeat(4);
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The token with its signature's last character changed only in the 2 bits no byte uses. */
function respell(token: string): string {
  const last = B64URL.indexOf(token.slice(-1));
  const other = B64URL[last ^ 1] as string;
  expect(Buffer.from(token.slice(-43), "base64url")).toEqual(
    Buffer.from(token.slice(-43, -1) + other, "base64url"),
  );
  return token.slice(0, -1) + other;
}

describe("resume tokens", () => {
  const tokens = new ResumeTokens(KEY, 60_000);
  const now = 1_800_000_000_000;

  it("verify what they issue, with the claims", () => {
    const { token, expiresAt } = tokens.issue("1189273498234982401", 3, now);
    expect(expiresAt).toBe(now + 60_000);
    expect(tokens.verify(token, now + 1)).toEqual({
      ok: true,
      claims: { deviceId: "1189273498234982401", generation: 3, expiresAt },
    });
  });

  it.each([
    ["expired", (t: string) => t, now + 60_000, "expired"],
    ["another device id", (t: string) => t.replace(".42.", ".43."), now, "bad_signature"],
    ["another generation", (t: string) => t.replace(/^v1\.42\.1\./, "v1.42.2."), now, "bad_signature"],
    [
      "a later expiry",
      (t: string) => t.replace(/\.(\d+)\.([^.]+)$/, ".9999999999999.$2"),
      now,
      "bad_signature",
    ],
    [
      "a flipped signature",
      (t: string) => t.slice(0, -2) + (t.endsWith("A") ? "BB" : "AA"),
      now,
      "bad_signature",
    ],
    ["a padded signature (lenient base64url would decode it)", (t: string) => `${t}=`, now, "bad_signature"],
    ["the same bytes spelled otherwise (unused low bits set)", respell, now, "bad_signature"],
    ["garbage", () => "not-a-token", now, "malformed"],
    ["an empty string", () => "", now, "malformed"],
    ["too many parts", (t: string) => `${t}.x`, now, "malformed"],
  ])("reject %s", (_name, mutate, at, reason) => {
    const { token } = tokens.issue("42", 1, now);
    expect(tokens.verify(mutate(token), at)).toEqual({ ok: false, reason });
  });

  it("signed with another key do not verify", () => {
    const other = new ResumeTokens("f".repeat(64));
    expect(tokens.verify(other.issue("42", 1, now).token, now).ok).toBe(false);
  });

  it("refuse a short key", () => {
    expect(() => new ResumeTokens("short")).toThrow(RangeError);
    expect(ResumeTokens.generateKey()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("device secrets", () => {
  it("are random, 43 characters, and verify only against their own bcrypt hash", async () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    const hash = await hashSecret(a, 4);
    expect(hash).toMatch(/^\$2b\$04\$/);
    expect(hash).not.toContain(a);
    expect(await verifySecret(a, hash)).toBe(true);
    expect(await verifySecret(b, hash)).toBe(false);
    expect(await verifySecret(a, "not-a-hash")).toBe(false);
  });

  it("refuse a bcrypt cost outside 4..31", async () => {
    await expect(hashSecret("x", 3)).rejects.toThrow(RangeError);
  });
});

describe("failure rate limiter", () => {
  it("locks a key after maxFailures in the window and unlocks after lockMs", () => {
    const clock = new ManualClock();
    const limiter = new FailureRateLimiter({ maxFailures: 3, windowMs: 10_000, lockMs: 30_000 }, clock);
    expect(limiter.fail("k")).toBe(0);
    expect(limiter.fail("k")).toBe(0);
    expect(limiter.fail("k")).toBe(30_000);
    expect(limiter.retryAfter("k")).toBe(30_000);
    void clock.advance(30_000);
    expect(limiter.retryAfter("k")).toBe(0);
  });

  it("forgets failures outside the window and on success", async () => {
    const clock = new ManualClock();
    const limiter = new FailureRateLimiter({ maxFailures: 2, windowMs: 1_000, lockMs: 5_000 }, clock);
    limiter.fail("k");
    await clock.advance(1_500);
    expect(limiter.fail("k")).toBe(0);
    limiter.succeed("k");
    expect(limiter.fail("k")).toBe(0);
    await clock.advance(2_000);
    limiter.sweep();
    expect(limiter.size).toBe(0);
  });

  it("tracks a bounded number of keys (address spraying cannot grow it)", () => {
    const limiter = new FailureRateLimiter(
      { maxFailures: 5, windowMs: 60_000, lockMs: 60_000 },
      new ManualClock(),
      100,
    );
    for (let i = 0; i < 1_000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(100);
  });
});
