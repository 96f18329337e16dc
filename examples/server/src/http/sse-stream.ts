import type { ServerResponse } from "node:http";

/** Bounds of one SSE stream (docs/operations.md, Limits and quotas). */
export interface SseLimits {
  /** Events held for a client that does not read, beyond the socket's own buffer. Default 1 MiB. */
  maxBufferBytes?: number;
  /** How long the closing message may take to leave before the socket is destroyed. Default 5 s. */
  closeGraceMs?: number;
}

/** The last message of a stream closed because its client read too slowly. */
export const SLOW_CONSUMER =
  'event: slow_consumer\ndata: {"code":"slow_consumer","message":"the client did not read events fast enough"}\n\n';

/**
 * A server-sent-events stream written straight to the response with backpressure in mind:
 * once `write()` returns false, events wait in a bounded queue until `drain`; past
 * `maxBufferBytes` the stream is ended with a `slow_consumer` event, and destroyed if even
 * that cannot leave within the grace. A slow reader costs at most that much memory.
 */
export class SseStream {
  private readonly queue: string[] = [];
  private queued = 0;
  private congested = false;
  private ended = false;
  private readonly maxBufferBytes: number;
  private readonly closeGraceMs: number;

  constructor(
    private readonly res: ServerResponse,
    limits: SseLimits = {},
    private readonly onSlow: () => void = () => {},
  ) {
    this.maxBufferBytes = limits.maxBufferBytes ?? 1_048_576;
    this.closeGraceMs = limits.closeGraceMs ?? 5_000;
    res.on("drain", () => this.drain());
  }

  /** True once ended (by us) or closed (by the client). */
  get closed(): boolean {
    return this.ended || this.res.destroyed;
  }

  /** Calls `listener` once when the client's connection is gone. */
  onClose(listener: () => void): void {
    this.res.once("close", listener);
  }

  /** Sends (or queues) one message; ends the stream as too slow when the queue would pass the bound. */
  write(text: string): void {
    if (this.closed) return;
    if (!this.congested) {
      this.congested = !this.res.write(text);
      return;
    }
    const bytes = Buffer.byteLength(text);
    if (this.queued + bytes > this.maxBufferBytes) {
      this.onSlow();
      this.end(SLOW_CONSUMER);
      return;
    }
    this.queue.push(text);
    this.queued += bytes;
  }

  /** Ends the stream with a last message; what is still queued is dropped. */
  end(last?: string): void {
    if (this.closed) return;
    this.ended = true;
    this.queue.length = 0;
    this.queued = 0;
    this.res.end(last);
    // A client that reads nothing never takes the last message: do not hold its socket for it.
    const timer = setTimeout(() => this.res.destroy(), this.closeGraceMs);
    timer.unref();
    this.res.once("close", () => clearTimeout(timer));
  }

  private drain(): void {
    this.congested = false;
    while (this.queue.length > 0 && !this.congested && !this.closed) {
      const text = this.queue.shift() as string;
      this.queued -= Buffer.byteLength(text);
      this.congested = !this.res.write(text);
    }
  }
}
