import { type ConnectionState, encode, isPdu, type StatusData, type StatusPdu } from "@cloudedge/protocol";
import type { Clock } from "./clock.js";
import { type Collector, collectStatus } from "./collector.js";
import { EdgeError, EdgeErrorCode } from "./errors.js";
import type { Fail } from "./fail.js";
import type { OutboxPdu } from "./outbox.js";

/**
 * Status reports: validates a snapshot before it is sent or queued, collects from the
 * collectors (partial on failures), and reports on an interval — also while offline, into
 * the outbox — until the client closes.
 */
export class StatusReporter {
  private readonly collectors: Collector[];
  private intervalMs: number;
  private timer: unknown;

  constructor(
    private readonly deps: {
      clock: Clock;
      collectors: readonly Collector[];
      intervalMs: number;
      collectTimeoutMs: number | undefined;
      sendOrQueue: (pdu: OutboxPdu) => boolean;
      state: () => ConnectionState;
      track: (task: Promise<unknown>) => void;
      fail: Fail;
    },
  ) {
    this.collectors = [...deps.collectors];
    this.intervalMs = deps.intervalMs;
  }

  add(collector: Collector): void {
    this.collectors.push(collector);
  }

  /** Sends or queues a snapshot; throws EdgeError `invalid_status` for data the schema rejects. */
  async send(data: StatusData, ts: number): Promise<boolean> {
    const pdu: StatusPdu = { type: "status", ts, data };
    if (!isPdu("status", pdu))
      throw new EdgeError(EdgeErrorCode.INVALID_STATUS, "status data breaks the status schema");
    try {
      encode(pdu);
    } catch (error) {
      throw new EdgeError(EdgeErrorCode.INVALID_STATUS, "status data cannot be encoded", { cause: error });
    }
    return this.deps.sendOrQueue(pdu);
  }

  /** Collects from every collector and sends the report, stamped with when collection began. */
  async report(): Promise<boolean> {
    const { clock, collectTimeoutMs } = this.deps;
    const ts = clock.now();
    const options = collectTimeoutMs !== undefined ? { timeoutMs: collectTimeoutMs } : {};
    const data = await collectStatus(this.collectors, { clock, ...options });
    return this.send(data, ts);
  }

  /** Changes the interval (0 turns it off); restarts the timer while the client runs. */
  setInterval(ms: number): void {
    this.intervalMs = ms;
    this.stop();
    const state = this.deps.state();
    if (state !== "idle" && state !== "closed") this.schedule();
  }

  /** Arms the next automatic report, unless off or already armed. */
  schedule(): void {
    if (!(this.intervalMs > 0) || this.timer !== undefined) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.deps.state() === "closed") return;
      this.deps.track(
        this.report().catch((error) =>
          this.deps.fail(EdgeErrorCode.INVALID_STATUS, "status report failed", error),
        ),
      );
      this.schedule();
    }, this.intervalMs);
  }

  stop(): void {
    this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
