import { describe, expect, it } from "vitest";
import { adviceFor, Backoff } from "../src/backoff.js";
import { seededRandom } from "./support/manual-clock.js";

const base = { reason: "", onlineMs: 0, hasSecret: true };

describe("Backoff: full jitter", () => {
  it("keeps every draw within [0, min(cap, base·2ⁿ)) and reaches the cap", () => {
    const backoff = new Backoff({ baseMs: 100, capMs: 10_000, random: seededRandom(1) });
    for (let n = 0; n <= 40; n++) {
      const bound = Math.min(10_000, 100 * 2 ** n);
      for (let i = 0; i < 200; i++) {
        const delay = backoff.jitter(n);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(bound);
      }
    }
    expect(backoff.jitter(1_000_000)).toBeLessThan(10_000); // no overflow to Infinity/NaN
  });

  it("is uniform over [0, bound): mean ≈ bound/2 and every decile populated", () => {
    const backoff = new Backoff({ baseMs: 1_000, capMs: 60_000, random: seededRandom(42) });
    const draws = Array.from({ length: 20_000 }, () => backoff.jitter(10)); // bound = cap = 60 s
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(29_000);
    expect(mean).toBeLessThan(31_000);
    const deciles = new Array(10).fill(0);
    for (const d of draws) deciles[Math.floor(d / 6_000)]++;
    for (const count of deciles) {
      expect(count).toBeGreaterThan(1_800);
      expect(count).toBeLessThan(2_200);
    }
  });

  it("is deterministic for a seed", () => {
    const a = new Backoff({ random: seededRandom(7) });
    const b = new Backoff({ random: seededRandom(7) });
    const seq = (x: Backoff) => Array.from({ length: 5 }, () => x.next({ ...base, code: 1006 }).delayMs);
    expect(seq(a)).toEqual(seq(b));
  });
});

describe("Backoff: policy per close code (docs/protocol.md §4.4)", () => {
  it("grows the bound with consecutive failures", () => {
    const backoff = new Backoff({ baseMs: 1_000, capMs: 60_000, random: () => 0.999 });
    const delays = Array.from({ length: 8 }, () => backoff.next({ ...base, code: 1006 }).delayMs);
    expect(delays).toEqual([1998, 3996, 7992, 15984, 31968, 59940, 59940, 59940]);
    expect(backoff.attempt).toBe(8);
  });

  it("resets only after a session stayed online for resetAfterMs", () => {
    const backoff = new Backoff({ baseMs: 1_000, capMs: 60_000, resetAfterMs: 60_000, random: () => 0.5 });
    for (let i = 0; i < 5; i++) backoff.next({ ...base, code: 1006 });
    // A hub that accepts and drops at once must not reset the count.
    expect(backoff.next({ ...base, code: 4005, onlineMs: 59_999 }).attempt).toBe(6);
    const after = backoff.next({ ...base, code: 4005, onlineMs: 60_000 });
    expect(after.attempt).toBe(1);
    expect(after.delayMs).toBe(1_000); // 0.5 · min(cap, 1000·2¹)
  });

  it("honours retry-after from the close reason: max(hint, backoff)", () => {
    const backoff = new Backoff({ baseMs: 1_000, capMs: 60_000, random: () => 0.5 });
    const d = backoff.next({ ...base, code: 4008, reason: "retry-after=12345" });
    expect(d).toMatchObject({ advice: "retry_after", delayMs: 12_345 });
    // A hint smaller than the backoff draw does not shorten it.
    for (let i = 0; i < 6; i++) backoff.next({ ...base, code: 1006 });
    expect(backoff.next({ ...base, code: 4009, reason: "x; retry-after=10" }).delayMs).toBe(30_000);
  });

  it("uses retryAfterMs from a preceding error/bye when the reason has none", () => {
    const backoff = new Backoff({ random: () => 0 });
    expect(backoff.next({ ...base, code: 4010, reason: "", retryAfterMs: 60_000 }).delayMs).toBe(60_000);
    expect(backoff.next({ ...base, code: 1006, retryAfterMs: 4_200 }).delayMs).toBe(4_200);
    expect(backoff.next({ ...base, code: 4009, reason: "retry-after=900", retryAfterMs: 5 }).delayMs).toBe(
      900,
    );
  });

  it("4012: reconnect at once with the secret, not counted as a failure", () => {
    const backoff = new Backoff({ random: () => 0.5 });
    backoff.next({ ...base, code: 1006 });
    expect(backoff.next({ ...base, code: 4012 })).toEqual({
      delayMs: 0,
      advice: "reauthenticate",
      attempt: 1,
      dropToken: true,
    });
  });

  it("4012 without a secret is an auth problem", () => {
    const backoff = new Backoff({ capMs: 60_000, random: () => 0 });
    const d = backoff.next({ ...base, code: 4012, hasSecret: false });
    expect(d.advice).toBe("auth_backoff");
    expect(d.delayMs).toBe(30_000);
  });

  it("auth failures back off long: uniform in [cap/2, cap)", () => {
    const backoff = new Backoff({ baseMs: 1_000, capMs: 60_000, random: seededRandom(3) });
    for (const code of [4001, 4003, 4006, 4007]) {
      for (let i = 0; i < 50; i++) {
        const d = backoff.next({ ...base, code });
        expect(d.advice).toBe("auth_backoff");
        expect(d.delayMs).toBeGreaterThanOrEqual(30_000);
        expect(d.delayMs).toBeLessThanOrEqual(60_000);
      }
    }
  });

  it("maps codes to advice from the protocol table; unknown codes reconnect", () => {
    expect(adviceFor(1000)).toBe("reconnect");
    expect(adviceFor(4004)).toBe("reconnect");
    expect(adviceFor(4008)).toBe("retry_after");
    expect(adviceFor(4012)).toBe("reauthenticate");
    expect(adviceFor(4001)).toBe("auth_backoff");
    expect(adviceFor(1006)).toBe("reconnect");
    expect(adviceFor(4999)).toBe("reconnect");
  });

  it("rejects nonsense configuration", () => {
    expect(() => new Backoff({ baseMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 10, capMs: 5 })).toThrow(RangeError);
  });
});
