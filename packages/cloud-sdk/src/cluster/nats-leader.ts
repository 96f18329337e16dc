import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { OrphanedSession } from "./cluster-bus.js";
import type { PresenceBuckets } from "./nats-buckets.js";
import { purgeMarkers, reapDead } from "./nats-reaper.js";

export interface LeaderChoresOptions {
  instance: string;
  nodeTtlMs: number;
  /** How often the delete markers of the presence bucket are purged. */
  purgeIntervalMs: number;
  /** A bucket listing that gets nothing for this long is given up (and retried). */
  listingIdleMs: number;
  logger: Logger;
  clock: Clock;
  /** Closing: no new chore, and one under way stops early. */
  closed: () => boolean;
  /** Called once per reaped orphan. */
  report: (orphan: OrphanedSession) => Promise<void>;
}

/**
 * The chores of the leader (the live instance with the smallest id): reaping the entries of
 * dead instances and purging delete markers. Each runs one at a time and is never awaited
 * by the liveness refresh — a reap of 100,000 entries takes long.
 */
export class LeaderChores {
  /** A reap is owed (at start, and whenever an instance went missing). */
  private reapDue = true;
  /** No reaping before this: just after start or a reconnect, live peers may not be re-announced. */
  private quietUntil: number;
  /** Delete markers are purged from then on. */
  private purgeAt: number;
  private reaping: Promise<void> | undefined;
  private purging: Promise<void> | undefined;

  constructor(private readonly options: LeaderChoresOptions) {
    const now = options.clock.now();
    this.quietUntil = now + options.nodeTtlMs;
    this.purgeAt = now + options.purgeIntervalMs;
  }

  /** An instance went missing: its entries are owed a reap. */
  owe(): void {
    this.reapDue = true;
  }

  /** Reconnected: NATS may have restarted, and live peers not re-announced yet. */
  quiet(): void {
    this.quietUntil = this.options.clock.now() + this.options.nodeTtlMs;
  }

  /** Starts each chore that is due and not under way, over the buckets and live set of the moment. */
  run(buckets: PresenceBuckets, live: ReadonlySet<string>): void {
    const { clock, logger } = this.options;
    const now = clock.now();
    if (this.reapDue && !this.reaping && now >= this.quietUntil) {
      this.reapDue = false;
      // A reap compares entries with the live set of its moment, so a postponed one misses nothing.
      this.reaping = reapDead({
        buckets,
        instance: this.options.instance,
        live,
        idleMs: this.options.listingIdleMs,
        logger,
        report: this.options.report,
        // Reconnected meanwhile: live peers may not have re-announced yet.
        interrupted: () => this.options.closed() || clock.now() < this.quietUntil,
      })
        .then((complete) => {
          if (!complete) this.reapDue = true;
        })
        .catch((error: unknown) => {
          this.reapDue = true;
          logger.warn({ err: String(error) }, "presence reap failed");
        })
        .finally(() => {
          this.reaping = undefined;
        });
    }
    if (!this.purging && now >= this.purgeAt) {
      this.purgeAt = now + this.options.purgeIntervalMs;
      this.purging = purgeMarkers(buckets, {
        idleMs: this.options.listingIdleMs,
        interrupted: this.options.closed,
      })
        .then((purged) => {
          if (purged > 0) logger.info({ purged }, "purged presence delete markers");
        })
        .catch((error: unknown) => {
          logger.warn({ err: String(error) }, "presence purge failed");
        })
        .finally(() => {
          this.purging = undefined;
        });
    }
  }

  /** Resolves once the chores under way ended. */
  settle(): Promise<unknown> {
    return Promise.allSettled([this.reaping, this.purging]);
  }
}
