import { type Clock, systemClock } from "../util/clock.js";

export interface RateLimitRule {
  /** Failures allowed within the window before the key is locked. */
  maxFailures: number;
  windowMs: number;
  /** How long a locked key stays locked. */
  lockMs: number;
}

interface Entry {
  failures: number[];
  lockedUntil: number;
}

/**
 * Counts failures per key (device id, remote address) in a sliding window; past the
 * limit the key is locked for `lockMs`. Memory is bounded: stale keys are swept and at
 * most `maxKeys` are tracked (the oldest evicted), so an address-spraying attacker
 * cannot grow it without bound.
 */
export class FailureRateLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly rule: RateLimitRule,
    private readonly clock: Clock = systemClock,
    private readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds until the key may try again; 0 when it may try now. */
  retryAfter(key: string): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    return Math.max(0, entry.lockedUntil - this.clock.now());
  }

  /** Records a failure; returns the lock duration when this failure locked the key, else 0. */
  fail(key: string): number {
    const now = this.clock.now();
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= this.maxKeys) this.evictOldest();
      entry = { failures: [], lockedUntil: 0 };
      this.entries.set(key, entry);
    }
    entry.failures = entry.failures.filter((at) => at > now - this.rule.windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= this.rule.maxFailures) {
      entry.lockedUntil = now + this.rule.lockMs;
      entry.failures = [];
      return this.rule.lockMs;
    }
    return 0;
  }

  /** A success clears the key's failures. */
  succeed(key: string): void {
    this.entries.delete(key);
  }

  /** Drops keys with nothing left to remember. */
  sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) {
      if (entry.lockedUntil <= now && entry.failures.every((at) => at <= now - this.rule.windowMs)) {
        this.entries.delete(key);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private evictOldest(): void {
    const first = this.entries.keys().next();
    if (!first.done) this.entries.delete(first.value);
  }
}
