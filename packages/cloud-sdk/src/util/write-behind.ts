import { type Clock, systemClock } from "./clock.js";
import { type Logger, silentLogger } from "./logger.js";

/**
 * Where a write-behind buffer puts items the store refused (the local journal): `save` is
 * durable when it returns and throws when it cannot be; `settle` says that many saved items
 * reached the store after all.
 */
export interface Spill<T> {
  save(items: T[]): void;
  settle(count: number): void;
}

/** What a buffer did with its items at close. */
export interface CloseOutcome {
  /** Items neither written nor journaled: lost. */
  lost: number;
  /** Items not written but in the journal, for the next start to replay. */
  journaled: number;
}

export interface WriteBehindOptions<T> {
  /** Writes one batch; a rejection keeps the batch for the next attempt. */
  write(batch: T[]): Promise<void>;
  /** Flush at least this often. Default 1000 ms. */
  intervalMs?: number;
  /** Flush as soon as this many items wait. Default 500. */
  batchSize?: number;
  /** Items kept while the store is failing; beyond it the oldest are dropped and counted. Default 100,000. */
  maxPending?: number;
  /** Items of a failed batch are saved here at once, so a crash during an outage loses little. */
  spill?: Spill<T>;
  clock?: Clock;
  logger?: Logger;
  name?: string;
}

/**
 * Buffers items and writes them in batches off the hot path (status reports, event log).
 * The database never sits between a device's PDU and the hub's next read.
 */
export class WriteBehind<T> {
  private pending: T[] = [];
  /** The batch being written (kept so a shutdown during a hung write can journal it). */
  private inflight: T[] = [];
  private flushing: Promise<void> | undefined;
  private readonly journaled = new Set<T>();
  private readonly timer: unknown;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Items dropped from memory because the store stayed down past maxPending (journaled ones are kept there). */
  dropped = 0;
  /** Items written. */
  written = 0;
  /** Batches written. */
  batches = 0;

  constructor(private readonly options: WriteBehindOptions<T>) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.timer = this.clock.setInterval(() => void this.flush(), options.intervalMs ?? 1000);
  }

  push(item: T): void {
    this.pending.push(item);
    const max = this.options.maxPending ?? 100_000;
    if (this.pending.length > max) {
      const excess = this.pending.length - max;
      for (const item of this.pending.splice(0, excess)) this.journaled.delete(item);
      this.dropped += excess;
    }
    if (this.pending.length >= (this.options.batchSize ?? 500)) void this.flush();
  }

  /** Items waiting, the batch being written included. */
  get size(): number {
    return this.pending.length + this.inflight.length;
  }

  /** Writes everything pending now, in bounded batches; resolves when written (or failed and kept). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    // Bounded batches: one huge transaction after a backlog would hold the store for seconds.
    const batch = this.pending.splice(0, (this.options.batchSize ?? 500) * 4);
    this.inflight = batch;
    let ok = false;
    this.flushing = this.options
      .write(batch)
      .then(() => {
        ok = true;
        this.written += batch.length;
        this.batches++;
        this.settle(batch);
      })
      .catch((error: unknown) => {
        this.pending = batch.concat(this.pending);
        this.logger.warn(
          { writer: this.options.name, items: batch.length, err: String(error) },
          "batch write failed; kept for retry",
        );
        this.journal(batch);
      })
      .finally(() => {
        this.flushing = undefined;
        this.inflight = [];
      });
    await this.flushing;
    // More waiting: carry on; after a failure, wait for the next tick instead of spinning.
    if (ok && this.pending.length > 0) await this.flush();
  }

  /**
   * Stops the timer and writes what is left: without `graceMs` one attempt, awaited; with
   * it, retries until `graceMs` passed, never waiting for a hung write beyond it. What is
   * still unwritten then goes to the spill; what the spill refuses is counted lost. The
   * grace is wall-clock time (a shutdown budget), not the injected clock.
   */
  async close(graceMs?: number): Promise<CloseOutcome> {
    this.clock.clearInterval(this.timer);
    if (graceMs === undefined) await this.flush();
    const until = Date.now() + (graceMs ?? 0);
    for (
      let attempt = 0;
      graceMs !== undefined && this.size > 0 && (attempt === 0 || Date.now() < until);
      attempt++
    ) {
      if (attempt > 0) await within(undefined, Math.min(250, until - Date.now()));
      await within(this.flush(), until - Date.now());
    }
    const unwritten = [...this.inflight, ...this.pending];
    if (unwritten.length === 0) return { lost: 0, journaled: 0 };
    const saved = this.journal(unwritten);
    const journaled = unwritten.filter((item) => this.journaled.has(item)).length;
    if (!saved) {
      this.logger.error(
        { writer: this.options.name, lost: unwritten.length - journaled },
        "buffered writes lost: neither the store nor the journal took them",
      );
    }
    return { lost: unwritten.length - journaled, journaled };
  }

  /** Saves the items not saved yet; false when the spill refused (or there is none). */
  private journal(items: T[]): boolean {
    const spill = this.options.spill;
    const fresh = items.filter((item) => !this.journaled.has(item));
    if (fresh.length === 0) return true;
    if (!spill) return false;
    try {
      spill.save(fresh);
      for (const item of fresh) this.journaled.add(item);
      return true;
    } catch (error) {
      this.logger.warn(
        { writer: this.options.name, items: fresh.length, err: String(error) },
        "journal write failed; items kept in memory only",
      );
      return false;
    }
  }

  private settle(batch: T[]): void {
    let settled = 0;
    for (const item of batch) if (this.journaled.delete(item)) settled++;
    if (settled > 0) this.options.spill?.settle(settled);
  }
}

/** Resolves when `work` does or after `ms` of wall-clock time, whichever is first. */
export async function within(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  await Promise.race(work ? [work, timeout] : [timeout]);
  clearTimeout(timer);
}
