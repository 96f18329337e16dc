import { type Clock, systemClock } from "./clock.js";
import { type Logger, silentLogger } from "./logger.js";

export interface WriteBehindOptions<T> {
  /** Writes one batch; a rejection keeps the batch for the next attempt. */
  write(batch: T[]): Promise<void>;
  /** Flush at least this often. Default 1000 ms. */
  intervalMs?: number;
  /** Flush as soon as this many items wait. Default 500. */
  batchSize?: number;
  /** Items kept while the store is failing; beyond it the oldest are dropped and counted. Default 100,000. */
  maxPending?: number;
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
  /** Items of the batch being written: still unwritten, and put back if the write fails. */
  private inFlight = 0;
  private flushing: Promise<void> | undefined;
  private readonly timer: unknown;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Items dropped because the store stayed down past maxPending. */
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
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
    if (this.pending.length >= (this.options.batchSize ?? 500)) void this.flush();
  }

  /** Items not yet written: waiting, and in the batch being written (a hung store holds it for seconds). */
  get size(): number {
    return this.pending.length + this.inFlight;
  }

  /** Writes everything pending now, in bounded batches; resolves when written (or failed and kept). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    // Bounded batches: one huge transaction after a backlog would hold the store for seconds.
    const batch = this.pending.splice(0, (this.options.batchSize ?? 500) * 4);
    this.inFlight = batch.length;
    let ok = false;
    this.flushing = this.options
      .write(batch)
      .then(() => {
        ok = true;
        this.written += batch.length;
        this.batches++;
      })
      .catch((error: unknown) => {
        this.pending = batch.concat(this.pending);
        this.logger.warn(
          { writer: this.options.name, items: batch.length, err: String(error) },
          "batch write failed; kept for retry",
        );
      })
      .finally(() => {
        this.inFlight = 0;
        this.flushing = undefined;
      });
    await this.flushing;
    // More waiting: carry on; after a failure, wait for the next tick instead of spinning.
    if (ok && this.pending.length > 0) await this.flush();
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    this.clock.clearInterval(this.timer);
    await this.flush();
  }
}
