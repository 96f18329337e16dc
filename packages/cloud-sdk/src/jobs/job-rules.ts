import type { AbortRule, ExecutionCounts, Rollout, Wave } from "./job-types.js";

/**
 * Failure codes that mean the device refused the operation rather than tried and failed
 * (abort rules `on: REJECTED`): it has no such method, the params are wrong, or its allowlist denies it.
 */
export const REJECTION_CODES: ReadonlySet<string> = new Set([
  "method_not_found",
  "invalid_params",
  "exec_denied",
]);

/**
 * Each wave's number of executions: `count`, or `percent` of the total rounded up (a 1 %
 * canary of 50 devices is one device, not none); never more than remain, and the last wave
 * takes whatever remains.
 */
export function waveSizes(waves: readonly Wave[], total: number): number[] {
  let remaining = total;
  return waves.map((wave, i) => {
    const wanted =
      i === waves.length - 1 ? remaining : (wave.count ?? Math.ceil(((wave.percent ?? 0) * total) / 100));
    const size = Math.min(remaining, wanted);
    remaining -= size;
    return size;
  });
}

/** Successes a wave needs: its threshold of the executions that were not SKIPPED, rounded up. */
export function neededSuccesses(wave: Wave, size: number, skipped: number): number {
  return Math.ceil((wave.successThreshold * Math.max(0, size - skipped)) / 100 - 1e-9);
}

/** The figures of a tripped rule: what the job's abort reason carries. */
export interface Tripped {
  rule: AbortRule;
  executed: number;
  matched: number;
  percent: number;
}

/**
 * The first abort rule that trips: at least `minExecuted` executions finished with an outcome
 * (SUCCEEDED, FAILED, TIMED_OUT, EXPIRED — not SKIPPED or CANCELED), and the matching ones are
 * at least `thresholdPercent` of them (and at least one). `rejected`: FAILED with a REJECTION_CODE.
 */
export function trippedRule(
  rules: readonly AbortRule[],
  counts: ExecutionCounts,
  rejected: number,
): Tripped | undefined {
  const executed = counts.SUCCEEDED + counts.FAILED + counts.TIMED_OUT + counts.EXPIRED;
  for (const rule of rules) {
    const matched = matching(rule, counts, rejected);
    if (executed >= rule.minExecuted && matched > 0 && matched * 100 >= rule.thresholdPercent * executed)
      return { rule, executed, matched, percent: Math.round((matched * 10_000) / executed) / 100 };
  }
  return undefined;
}

function matching(rule: AbortRule, counts: ExecutionCounts, rejected: number): number {
  switch (rule.on) {
    case "FAILED":
      return counts.FAILED;
    case "TIMED_OUT":
      return counts.TIMED_OUT;
    case "REJECTED":
      return rejected;
    case "ANY":
      return counts.FAILED + counts.TIMED_OUT + counts.EXPIRED;
  }
}

/** Dispatches per minute right now (null: unlimited): exponential ramp-up capped by maxPerMinute. */
export function currentRate(rollout: Rollout, succeeded: number): number | null {
  const e = rollout.exponential;
  if (!e) return rollout.maxPerMinute;
  const ramped = e.baseRatePerMinute * e.incrementFactor ** Math.floor(succeeded / e.afterSucceeded);
  return Math.floor(Math.min(ramped, rollout.maxPerMinute ?? Number.MAX_SAFE_INTEGER));
}

/**
 * Evenly spaced dispatches at a per-minute rate: one every 60000/rate ms. A timer that fires
 * late catches up by up to one interval (the rate holds on average); after a longer idle
 * spell there is no burst: the spacing starts afresh.
 */
export class RatePacer {
  private nextAt = Number.NEGATIVE_INFINITY;
  private interval = 0;

  /** How many of `wanted` may go at `now`; give back unused ones with `refund`. */
  take(now: number, rate: number | null, wanted: number): number {
    if (rate === null) return wanted;
    this.interval = 60_000 / rate;
    if (this.nextAt < now - this.interval) this.nextAt = now;
    let granted = 0;
    while (granted < wanted && this.nextAt <= now) {
      granted += 1;
      this.nextAt += this.interval;
    }
    return granted;
  }

  refund(unused: number): void {
    this.nextAt -= unused * this.interval;
  }

  /** When the next dispatch may go (rounded up to the ms). */
  get wakeAt(): number {
    return Math.ceil(this.nextAt);
  }
}

/** What the current wave allows now (see `waveStep`). */
export type WaveStep =
  | { kind: "dispatch"; count: number }
  | { kind: "soak"; from: number; until: number }
  | { kind: "next" }
  | {
      kind: "pause";
      reason: { type: "wave_threshold"; wave: number; size: number; succeeded: number; needed: number };
    };

/**
 * The current wave's next step: dispatch its undispatched rest until its success threshold is
 * reached (`count` 0: wait for outcomes); then, once all of it is dispatched, soak (`soakUntil`
 * null: the soak starts now) and go on to the next wave. The last wave just dispatches its rest.
 * A wave that can no longer reach its threshold pauses the job.
 */
export function waveStep(
  waves: readonly Wave[],
  index: number,
  total: number,
  counts: ExecutionCounts,
  soakUntil: number | null,
  now: number,
): WaveStep {
  const wave = waves[index];
  if (!wave) return { kind: "dispatch", count: Number.MAX_SAFE_INTEGER }; // past the last (an operator resumed)
  const size = waveSizes(waves, total)[index] ?? 0;
  const dispatched = Object.values(counts).reduce((a, b) => a + b, 0);
  const rest = size - dispatched;
  const needed = neededSuccesses(wave, size, counts.SKIPPED);
  const succeeded = counts.SUCCEEDED;
  if (succeeded >= needed) {
    if (rest > 0 || index === waves.length - 1) return { kind: "dispatch", count: rest };
    const until = soakUntil ?? now + wave.soakMs;
    return now < until ? { kind: "soak", from: now, until } : { kind: "next" };
  }
  if (succeeded + counts.QUEUED + counts.SENT + counts.DELIVERED + rest < needed)
    return { kind: "pause", reason: { type: "wave_threshold", wave: index, size, succeeded, needed } };
  return { kind: "dispatch", count: rest };
}
