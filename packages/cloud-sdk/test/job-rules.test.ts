import { describe, expect, it } from "vitest";
import { emptyCounts, RatePacer, type Wave, waveSizes, waveStep } from "../src/index.js";

const counts = (c: Partial<ReturnType<typeof emptyCounts>>) => ({ ...emptyCounts(), ...c });
const wave = (w: Partial<Wave>): Wave => ({ successThreshold: 100, soakMs: 0, ...w });

describe("wave sizes", () => {
  it.each([
    [[wave({ count: 2 }), wave({ percent: 30 }), wave({ percent: 50 })], 10, [2, 3, 5]],
    [[wave({ percent: 1 }), wave({ percent: 99 })], 50, [1, 49]], // a 1 % canary of 50 is one device
    [[wave({ percent: 10 }), wave({ percent: 10 })], 10, [1, 9]], // the last takes the rest
    [[wave({ count: 20 }), wave({ count: 5 })], 10, [10, 0]], // never more than remain
    [[wave({ percent: 50 })], 0, [0]],
  ])("%j over %i → %j", (waves, total, sizes) => {
    expect(waveSizes(waves, total)).toEqual(sizes);
  });
});

describe("waveStep at the threshold's boundary", () => {
  const waves = [wave({ count: 4, successThreshold: 50, soakMs: 1_000 }), wave({ percent: 100 })];
  it.each([
    ["nothing dispatched yet", counts({}), null, { kind: "dispatch", count: 4 }],
    [
      "reached (2 of 4) but 1 undispatched",
      counts({ SUCCEEDED: 2, SENT: 1 }),
      null,
      { kind: "dispatch", count: 1 },
    ],
    [
      "reached and all dispatched: soak starts",
      counts({ SUCCEEDED: 2, FAILED: 2 }),
      null,
      { kind: "soak", from: 0, until: 1_000 },
    ],
    ["soaking", counts({ SUCCEEDED: 2, FAILED: 2 }), 1_000, { kind: "soak", from: 0, until: 1_000 }],
    [
      "one below, one still running: wait",
      counts({ SUCCEEDED: 1, FAILED: 2, SENT: 1 }),
      null,
      { kind: "dispatch", count: 0 },
    ],
    ["cannot reach any more: pause", counts({ SUCCEEDED: 1, FAILED: 3 }), null, { kind: "pause" }],
    [
      "SKIPPED do not count: 1 of 2 is 50 %",
      counts({ SUCCEEDED: 1, FAILED: 1, SKIPPED: 2 }),
      null,
      { kind: "soak" },
    ],
  ] as const)("%s", (_what, c, soakUntil, expected) => {
    expect(waveStep(waves, 0, 10, c, soakUntil, 0)).toMatchObject(expected);
  });

  it("goes on to the next wave when the soak has passed, and the last wave only dispatches its rest", () => {
    expect(waveStep(waves, 0, 10, counts({ SUCCEEDED: 4 }), 1_000, 1_000)).toEqual({ kind: "next" });
    expect(waveStep(waves, 1, 10, counts({ SUCCEEDED: 6 }), null, 0)).toEqual({ kind: "dispatch", count: 0 });
    expect(waveStep(waves, 2, 10, counts({}), null, 0)).toMatchObject({ kind: "dispatch" });
  });

  it("reports the figures of a wave that cannot reach its threshold", () => {
    expect(waveStep(waves, 0, 10, counts({ FAILED: 3, SENT: 1 }), null, 0)).toEqual({
      kind: "pause",
      reason: { type: "wave_threshold", wave: 0, size: 4, succeeded: 0, needed: 2 },
    });
  });
});

describe("RatePacer", () => {
  it("grants one per 60000/rate ms, no burst after idling, and takes refunds back", () => {
    const pacer = new RatePacer();
    expect(pacer.take(0, 6, 5)).toBe(1);
    expect(pacer.wakeAt).toBe(10_000);
    expect(pacer.take(9_999, 6, 5)).toBe(0);
    expect(pacer.take(10_000, 6, 5)).toBe(1);
    expect(pacer.take(500_000, 6, 5)).toBe(1); // long idle: no burst of saved-up dispatches
    pacer.refund(1);
    expect(pacer.take(500_000, 6, 5)).toBe(1);
    expect(pacer.take(0, null, 7)).toBe(7);
  });
});
