import { CLOSE_CODES, type CloseCode, parseRetryAfter, type ReconnectAdvice } from "@cloudedge/protocol";

/** Reconnect timing (docs/protocol.md §4.4). */
export interface BackoffOptions {
  /** Base delay. Default 1 s. */
  baseMs?: number;
  /** Upper bound of the exponential part. Default 60 s. */
  capMs?: number;
  /**
   * A session must stay online this long before the failure count resets. Default 60 s;
   * the client also makes it at least one heartbeat interval.
   */
  resetAfterMs?: number;
  /** Uniform random in [0, 1). Default Math.random. */
  random?: () => number;
}

/** Why the last connection ended, as the policy needs it. */
export interface DisconnectInfo {
  /** WebSocket close code; 1006 when there was no close frame. */
  code: number;
  /** Close reason (may carry `retry-after=<ms>`). */
  reason?: string;
  /** Retry-after from a preceding `error`/`bye` PDU, used when the reason has none. */
  retryAfterMs?: number | undefined;
  /** How long the session had been online; 0 when it never got `welcome`. */
  onlineMs: number;
  /** Whether a secret is configured (4012 without one is treated as an auth problem). */
  hasSecret: boolean;
}

/** The decision: how long to wait and how to reconnect. */
export interface BackoffDecision {
  delayMs: number;
  advice: ReconnectAdvice;
  /** Consecutive failed attempts after this one. */
  attempt: number;
  /** The next hello must use the secret (the token was rejected). */
  dropToken: boolean;
}

/** The advice for a close code; unknown codes get ordinary backoff (§7). */
export function adviceFor(code: number): ReconnectAdvice {
  return Object.hasOwn(CLOSE_CODES, code) ? CLOSE_CODES[code as CloseCode].advice : "reconnect";
}

/**
 * Exponential backoff with full jitter, `random(0, min(cap, base·2ⁿ))`, with the close-code
 * policy of §4.4 on top: retry-after hints, immediate reauthentication, long auth backoff,
 * and a failure count that resets only after a session stayed up. Pure apart from `random`.
 */
export class Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  readonly resetAfterMs: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 1_000;
    this.capMs = options.capMs ?? 60_000;
    this.resetAfterMs = options.resetAfterMs ?? 60_000;
    this.random = options.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.capMs >= this.baseMs)) throw new RangeError("need 0 < baseMs <= capMs");
  }

  /** Consecutive failed attempts so far. */
  get attempt(): number {
    return this.failures;
  }

  /** The full-jitter delay for `n` failures: uniform in [0, min(cap, base·2ⁿ)). */
  jitter(n: number): number {
    return this.random() * Math.min(this.capMs, this.baseMs * 2 ** Math.min(n, 1024));
  }

  /** Forget failures (e.g. after the owner reconfigured credentials). */
  reset(): void {
    this.failures = 0;
  }

  /** Decides the wait before the next attempt after a connection ended. */
  next(info: DisconnectInfo, resetAfterMs = this.resetAfterMs): BackoffDecision {
    // §4.4: reset only after a session stayed online for a while, never on welcome alone.
    if (info.onlineMs >= resetAfterMs) this.failures = 0;
    let advice = adviceFor(info.code);
    if (advice === "reauthenticate") {
      if (info.hasSecret) return { delayMs: 0, advice, attempt: this.failures, dropToken: true };
      advice = "auth_backoff";
    }
    this.failures += 1;
    let delayMs = this.jitter(this.failures);
    if (advice === "auth_backoff") {
      // A credentials problem will not fix itself in seconds: wait long, uniformly in [cap/2, cap).
      delayMs = this.capMs / 2 + this.random() * (this.capMs / 2);
    }
    const hint = retryAfterHint(info);
    if (hint !== undefined) delayMs = Math.max(delayMs, hint);
    return { delayMs: Math.round(delayMs), advice, attempt: this.failures, dropToken: info.code === 4012 };
  }
}

/** The retry-after hint (§4.2): from the close reason, else from a preceding error/bye. */
function retryAfterHint(info: DisconnectInfo): number | undefined {
  return parseRetryAfter(info.reason) ?? info.retryAfterMs;
}
