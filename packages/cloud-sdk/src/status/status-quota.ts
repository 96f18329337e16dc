/** Per-device bounds on status reports received from devices (docs/operations.md, Limits and quotas). */
export interface StatusQuotaOptions {
  /** Sustained reports per minute per device. Default 120. */
  reportsPerMinute?: number;
  /** Reports a device may send at once beyond the rate, e.g. its outbox after a reconnect. Default 1,000 (the agent's outbox). */
  burst?: number;
  /** Largest report: its `data` as JSON, in bytes. Default 64 KiB. */
  maxReportBytes?: number;
  /** A `ts` further ahead of server time than this is clamped to now + this. Default 5 min. */
  maxClockSkewMs?: number;
}

/** Why a report was refused: the error PDU a device gets back. */
export interface StatusRefusal {
  reason: "rate" | "size";
  message: string;
  retryAfterMs?: number;
}

/** Counters for metrics. */
export interface StatusQuotaStats {
  rateLimited: number;
  tooLarge: number;
  /** Reports whose ts lay too far in the future and was clamped. */
  clampedTs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per device (refilled at `reportsPerMinute`, holding up to `burst`), the
 * size bound and the clock-skew clamp. Buckets outlive sessions, so reconnecting does not
 * refill one; `sweep` forgets the full ones, which are the same as no bucket.
 */
export class StatusQuota {
  readonly reportsPerMinute: number;
  readonly burst: number;
  readonly maxReportBytes: number;
  readonly maxClockSkewMs: number;
  readonly stats: StatusQuotaStats = { rateLimited: 0, tooLarge: 0, clampedTs: 0 };
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: StatusQuotaOptions = {}) {
    this.reportsPerMinute = options.reportsPerMinute ?? 120;
    this.burst = options.burst ?? 1000;
    this.maxReportBytes = options.maxReportBytes ?? 65_536;
    this.maxClockSkewMs = options.maxClockSkewMs ?? 300_000;
  }

  /** Takes one report of `bytes` from the device's allowance; a refusal when over a bound. */
  admit(deviceId: string, bytes: number, now: number): StatusRefusal | undefined {
    if (bytes > this.maxReportBytes) {
      this.stats.tooLarge++;
      return {
        reason: "size",
        message: `a status report of ${bytes} bytes is over the ${this.maxReportBytes}-byte limit`,
      };
    }
    const bucket = this.refilled(deviceId, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    this.stats.rateLimited++;
    return {
      reason: "rate",
      message: `more than ${this.reportsPerMinute} status reports per minute`,
      retryAfterMs: Math.ceil(((1 - bucket.tokens) * 60_000) / this.reportsPerMinute),
    };
  }

  /** `ts` no further ahead than now + maxClockSkewMs; past timestamps (an outbox) are kept. */
  clampTs(ts: number, now: number): number {
    const latest = now + this.maxClockSkewMs;
    if (ts <= latest) return ts;
    this.stats.clampedTs++;
    return latest;
  }

  /** Forgets devices whose bucket has refilled (they are as if never seen). */
  sweep(now: number): void {
    for (const [deviceId] of this.buckets) {
      if (this.refilled(deviceId, now).tokens >= this.burst) this.buckets.delete(deviceId);
    }
  }

  private refilled(deviceId: string, now: number): Bucket {
    const bucket = this.buckets.get(deviceId);
    if (!bucket) {
      const fresh = { tokens: this.burst, at: now };
      this.buckets.set(deviceId, fresh);
      return fresh;
    }
    const gained = (Math.max(0, now - bucket.at) * this.reportsPerMinute) / 60_000;
    bucket.tokens = Math.min(this.burst, bucket.tokens + gained);
    bucket.at = now;
    return bucket;
  }
}
