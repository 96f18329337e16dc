import { type Clock, systemClock } from "../util/clock.js";

export interface RateLimitRule {
  /** Failures allowed within the window before the key is locked (hard lock). */
  maxFailures: number;
  windowMs: number;
  /** How long a locked key stays locked. */
  lockMs: number;
  /**
   * Soft backoff: after this many failures in the window each further attempt must wait
   * `backoffMs`, doubled per failure, before the hard lock at `maxFailures`. Default
   * `maxFailures` (no soft backoff).
   */
  freeFailures?: number;
  /** First soft-backoff delay, also the wait told to an attempt over `maxInFlight`. Default 1 s. */
  backoffMs?: number;
  /** Attempts of one key that may be under way at once (reserved, not yet decided). Default unbounded. */
  maxInFlight?: number;
}

interface Entry {
  failures: number[];
  lockedUntil: number;
  /** Attempts reserved by `begin` and not yet ended. */
  pending: number;
}

/**
 * Counts failures per key (device id, remote address) in a sliding window; past the
 * limit the key is locked for `lockMs`, and before it a soft backoff spaces the attempts.
 * An attempt is reserved (`begin`) before the expensive check runs, so concurrent attempts
 * cannot overshoot the limit: reserved attempts count as failures until they end. Memory
 * is bounded: stale keys are swept and at most `maxKeys` are tracked (the oldest evicted),
 * so an address-spraying attacker cannot grow it without bound.
 */
export class FailureRateLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly rule: RateLimitRule,
    private readonly clock: Clock = systemClock,
    private readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds until the key's lock or soft backoff ends; 0 when neither holds it. */
  retryAfter(key: string): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    const now = this.clock.now();
    return Math.max(0, entry.lockedUntil - now, this.backoffUntil(entry, now) - now);
  }

  /**
   * Milliseconds until an attempt of the key may start; 0 when it may start now. Beyond
   * `retryAfter`, an attempt waits while `maxInFlight` are under way or while the failures
   * plus the attempts under way already reach `maxFailures`.
   */
  wait(key: string): number {
    const locked = this.retryAfter(key);
    if (locked > 0) return locked;
    const entry = this.entries.get(key);
    if (!entry || entry.pending === 0) return 0;
    const full = entry.pending >= (this.rule.maxInFlight ?? Number.POSITIVE_INFINITY);
    const wouldLock = this.recent(entry, this.clock.now()).length + entry.pending >= this.rule.maxFailures;
    return full || wouldLock ? (this.rule.backoffMs ?? 1_000) : 0;
  }

  /** Reserves an attempt (check `wait` first); end it with `fail`, `succeed` or `release`. */
  begin(key: string): void {
    this.entry(key).pending++;
  }

  /** Ends a reserved attempt without a verdict (the check could not run). */
  release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    if (entry.pending > 0) entry.pending--;
    // Successful logins leave nothing behind: the map holds only keys with something to remember.
    if (this.idle(entry, this.clock.now())) this.entries.delete(key);
  }

  /**
   * Records a failure (ending a reserved attempt, if any); returns the lock duration when
   * this failure locked the key, else 0.
   */
  fail(key: string): number {
    const now = this.clock.now();
    const entry = this.entry(key);
    if (entry.pending > 0) entry.pending--;
    entry.failures = this.recent(entry, now);
    entry.failures.push(now);
    if (entry.failures.length >= this.rule.maxFailures) {
      entry.lockedUntil = now + this.rule.lockMs;
      entry.failures = [];
      return this.rule.lockMs;
    }
    return 0;
  }

  /** A success (ending a reserved attempt, if any) clears the key's failures and lock. */
  succeed(key: string): void {
    this.release(key);
    const entry = this.entries.get(key);
    if (!entry) return;
    if (entry.pending === 0) this.entries.delete(key);
    else Object.assign(entry, { failures: [], lockedUntil: 0 });
  }

  /** Drops keys with nothing left to remember. */
  sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) if (this.idle(entry, now)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private entry(key: string): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= this.maxKeys) this.evictOldest();
      entry = { failures: [], lockedUntil: 0, pending: 0 };
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Nothing to remember: no attempt under way, no lock, no failure in the window. */
  private idle(entry: Entry, now: number): boolean {
    return (
      entry.pending === 0 &&
      entry.lockedUntil <= now &&
      entry.failures.every((at) => at <= now - this.rule.windowMs)
    );
  }

  private recent(entry: Entry, now: number): number[] {
    return entry.failures.filter((at) => at > now - this.rule.windowMs);
  }

  /** When the soft backoff lets the next attempt start (0: no backoff). */
  private backoffUntil(entry: Entry, now: number): number {
    const failures = this.recent(entry, now);
    const over = failures.length - (this.rule.freeFailures ?? this.rule.maxFailures);
    if (over < 0) return 0;
    const delay = Math.min(this.rule.lockMs, (this.rule.backoffMs ?? 1_000) * 2 ** over);
    return (failures[failures.length - 1] as number) + delay;
  }

  private evictOldest(): void {
    for (const [key, entry] of this.entries) {
      // An attempt under way keeps its reservation: evicting it would forget the reservation.
      if (entry.pending === 0) {
        this.entries.delete(key);
        return;
      }
    }
  }
}
