import { CloseCode, formatRetryAfter } from "@cloudedge/protocol";
import type { HubStats } from "./hub-stats.js";

export interface AdmissionOptions {
  /** Sessions plus pending handshakes beyond which new connections are told to try later. Default 19,000. */
  maxSessions?: number;
  /**
   * Connections between upgrade and welcome beyond which new ones are told to try later.
   * Default 10,000: token resumes are cheap; the expensive bcrypt path has its own bound
   * (DeviceAuthenticator.maxConcurrentSecretChecks).
   */
  maxHandshakes?: number;
  /**
   * Pending handshakes from one client address (as trusted-proxies.ts yields it) beyond which
   * its new connections are told to try later, so one client cannot hold every handshake slot.
   * Default 32.
   */
  maxHandshakesPerAddress?: number;
  /** Retry-after range for TRY_LATER closes, [min, max] ms. Default [1 s, 5 s]: a storm drains in seconds (bench: storm). */
  tryLaterMs?: [number, number];
  random?: () => number;
}

/** How a refused connection is closed. */
export interface Refusal {
  closeCode: CloseCode;
  reason: string;
}

/**
 * Admission control (docs/protocol.md §4, "Backpressure and admission"): over the session
 * or handshake bound, or while shutting down, a new connection is closed at once with a
 * jittered retry-after hint, so that the devices told to wait do not all come back together.
 */
export class Admission {
  private readonly random: () => number;
  private closing = false;

  constructor(
    private readonly options: AdmissionOptions,
    private readonly stats: HubStats,
  ) {
    this.random = options.random ?? Math.random;
  }

  /** From now on every connection is refused with SERVER_SHUTDOWN. */
  shutDown(): void {
    this.closing = true;
  }

  get shuttingDown(): boolean {
    return this.closing;
  }

  /**
   * How to close a new connection, given the sessions and handshakes under way and the
   * handshakes pending from its address; undefined to admit it.
   */
  refusal(sessions: number, handshakes: number, fromAddress = 0): Refusal | undefined {
    if (this.closing)
      return { closeCode: CloseCode.SERVER_SHUTDOWN, reason: formatRetryAfter(this.jitter(5_000, 30_000)) };
    const maxSessions = this.options.maxSessions ?? 19_000;
    const maxHandshakes = this.options.maxHandshakes ?? 10_000;
    const perAddress = this.options.maxHandshakesPerAddress ?? 32;
    if (handshakes < maxHandshakes && sessions + handshakes < maxSessions && fromAddress < perAddress) {
      return undefined;
    }
    this.stats.tryLater++;
    if (fromAddress >= perAddress) this.stats.tryLaterPerAddress++;
    const [min, max] = this.options.tryLaterMs ?? [1_000, 5_000];
    return { closeCode: CloseCode.TRY_LATER, reason: formatRetryAfter(this.jitter(min, max)) };
  }

  /** A retry-after between `min` and `max` ms. */
  jitter(min: number, max: number): number {
    return Math.round(min + this.random() * Math.max(0, max - min));
  }
}
