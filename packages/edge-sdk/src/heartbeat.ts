import type { PongPdu } from "@cloudedge/protocol";
import type { Clock } from "./clock.js";

/**
 * The device side of §4.3: `ping` every interval with seq from 0; the link is dead when no
 * `pong` came for 2 intervals (counting from `welcome`). Also estimates the hub clock
 * offset from each round trip.
 */
export class Heartbeat {
  private seq = 0;
  private pingTimer: unknown;
  private deadTimer: unknown;
  private readonly sentAt = new Map<number, number>();
  private running = false;
  /** hub time ≈ device time + offset; undefined until the first pong. */
  offsetMs: number | undefined;
  /** Round trip of the last answered ping. */
  rttMs: number | undefined;

  constructor(
    private readonly clock: Clock,
    readonly intervalMs: number,
    private readonly sendPing: (seq: number, ts: number) => void,
    private readonly onDead: () => void,
  ) {}

  start(): void {
    this.running = true;
    this.armDeadline();
    this.schedulePing();
  }

  stop(): void {
    this.running = false;
    this.clock.clearTimeout(this.pingTimer);
    this.clock.clearTimeout(this.deadTimer);
    this.sentAt.clear();
  }

  /** A pong arrived: the link is alive; update the offset estimate. */
  pong(pdu: PongPdu): void {
    if (!this.running) return;
    const t1 = this.clock.now();
    const t0 = this.sentAt.get(pdu.seq);
    if (t0 !== undefined) {
      this.offsetMs = pdu.serverTime - (t0 + t1) / 2;
      this.rttMs = t1 - t0;
      for (const seq of this.sentAt.keys()) if (seq <= pdu.seq) this.sentAt.delete(seq);
    }
    this.armDeadline();
  }

  // The timer callbacks are made once, not per ping (a small device pings for months).
  private readonly tick = (): void => {
    if (!this.running) return;
    const seq = this.seq++;
    const ts = this.clock.now();
    this.sentAt.set(seq, ts);
    if (this.sentAt.size > 8) this.sentAt.delete(this.sentAt.keys().next().value as number);
    this.sendPing(seq, ts);
    this.schedulePing();
  };

  private readonly expire = (): void => {
    if (!this.running) return;
    this.stop();
    this.onDead();
  };

  private schedulePing(): void {
    this.pingTimer = this.clock.setTimeout(this.tick, this.intervalMs);
  }

  private armDeadline(): void {
    this.clock.clearTimeout(this.deadTimer);
    this.deadTimer = this.clock.setTimeout(this.expire, 2 * this.intervalMs);
  }
}
