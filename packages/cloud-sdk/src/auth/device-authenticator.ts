import { CloseCode, ErrorCode, type HelloPdu } from "@cloudedge/protocol";
import type { DeviceCredentials, DeviceRepository } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { FailureRateLimiter, type RateLimitRule } from "./rate-limiter.js";
import type { ResumeTokens } from "./resume-tokens.js";
import { verifySecret } from "./secrets.js";

/** Why an authentication failed, as recorded in the device's event log (never shown to the device). */
export type AuthFailureReason =
  | "unknown_device"
  | "bad_secret"
  | "token_rejected"
  | "device_disabled"
  | "rate_limited"
  | "busy";

export type AuthOutcome =
  | { ok: true; deviceId: string; generation: number; via: "token" | "secret" }
  | {
      ok: false;
      reason: AuthFailureReason;
      code: ErrorCode;
      closeCode: CloseCode;
      retryAfterMs?: number;
      /** Known when the hello named an existing device. */
      deviceId?: string;
    };

export interface DeviceAuthenticatorOptions {
  devices: DeviceRepository;
  tokens: ResumeTokens;
  clock?: Clock;
  /** Failed logins per device. Default 5 per minute, then locked 60 s. */
  perDevice?: RateLimitRule;
  /** Failed logins per remote address. Default 20 per minute, then locked 60 s. */
  perAddress?: RateLimitRule;
  /** false: ignore tokens and always verify the secret (benchmarks). Default true. */
  acceptTokens?: boolean;
  /**
   * bcrypt checks allowed at once. Beyond it a secret login is told to try later (1–5 s);
   * token resumes are never held back by it. Default 256.
   */
  maxConcurrentSecretChecks?: number;
  random?: () => number;
}

// A real bcrypt hash (of a random string) so unknown devices take as long as wrong secrets.
const DUMMY_HASH = "$2b$10$hEOktEu8tCKzJUGt.JXor.t0QnhZiQ0SJaR0wlC1IEyE5cs39Gurm";

/**
 * Authenticates a `hello` (docs/protocol.md §4): a valid resume token of the current
 * credential generation is enough (one HMAC); otherwise the secret is checked with bcrypt
 * off the event loop. Failures are rate-limited per device and per remote address.
 */
export class DeviceAuthenticator {
  private readonly clock: Clock;
  readonly byDevice: FailureRateLimiter;
  readonly byAddress: FailureRateLimiter;
  private readonly acceptTokens: boolean;
  /** bcrypt verifications in flight. */
  private secretChecks = 0;

  constructor(private readonly options: DeviceAuthenticatorOptions) {
    this.clock = options.clock ?? systemClock;
    this.byDevice = new FailureRateLimiter(
      options.perDevice ?? { maxFailures: 5, windowMs: 60_000, lockMs: 60_000 },
      this.clock,
    );
    this.byAddress = new FailureRateLimiter(
      options.perAddress ?? { maxFailures: 20, windowMs: 60_000, lockMs: 60_000 },
      this.clock,
    );
    this.acceptTokens = options.acceptTokens ?? true;
  }

  async authenticate(hello: HelloPdu, remoteAddress: string): Promise<AuthOutcome> {
    const deviceKey = hello.deviceId ?? `${hello.serialNumber}\u0000${hello.model}`;
    const locked = Math.max(this.byDevice.retryAfter(deviceKey), this.byAddress.retryAfter(remoteAddress));
    if (locked > 0) return this.failure("rate_limited", undefined, locked);

    const credentials = await this.lookup(hello);
    const now = this.clock.now();

    if (hello.token !== undefined && this.acceptTokens) {
      const verdict = this.options.tokens.verify(hello.token, now);
      if (
        verdict.ok &&
        credentials &&
        verdict.claims.deviceId === credentials.deviceId &&
        verdict.claims.generation === credentials.generation
      ) {
        return this.accept(credentials, "token", deviceKey, remoteAddress);
      }
      if (hello.secret === undefined) {
        // Not counted as a failure: expired tokens are routine; the device retries with its secret.
        return this.failure("token_rejected", credentials?.deviceId);
      }
    }
    if (hello.secret === undefined) return this.failure("token_rejected", credentials?.deviceId);

    // Only the expensive path is bounded: a storm of token resumes never waits behind bcrypt.
    if (this.secretChecks >= (this.options.maxConcurrentSecretChecks ?? 256)) {
      return this.failure(
        "busy",
        credentials?.deviceId,
        Math.round(1_000 + (this.options.random ?? Math.random)() * 4_000),
      );
    }
    this.secretChecks++;
    let valid: boolean;
    try {
      valid = await verifySecret(hello.secret, credentials?.secretHash ?? DUMMY_HASH);
    } finally {
      this.secretChecks--;
    }
    if (!credentials || !valid) {
      const lockMs = Math.max(this.byDevice.fail(deviceKey), this.byAddress.fail(remoteAddress));
      return this.failure(
        credentials ? "bad_secret" : "unknown_device",
        credentials?.deviceId,
        lockMs || undefined,
      );
    }
    return this.accept(credentials, "secret", deviceKey, remoteAddress);
  }

  /** Forgets rate-limit entries with nothing left to remember (called by the hub's sweep). */
  sweep(): void {
    this.byDevice.sweep();
    this.byAddress.sweep();
  }

  private async lookup(hello: HelloPdu): Promise<DeviceCredentials | undefined> {
    const { devices } = this.options;
    if (hello.deviceId !== undefined) return devices.getCredentials(hello.deviceId);
    if (hello.serialNumber === undefined || hello.model === undefined) return undefined;
    const device = await devices.findBySerial(hello.serialNumber, hello.model);
    return device ? devices.getCredentials(device.id) : undefined;
  }

  private accept(
    credentials: DeviceCredentials,
    via: "token" | "secret",
    deviceKey: string,
    remoteAddress: string,
  ): AuthOutcome {
    if (credentials.disabled) return this.failure("device_disabled", credentials.deviceId);
    this.byDevice.succeed(deviceKey);
    this.byAddress.succeed(remoteAddress);
    return { ok: true, deviceId: credentials.deviceId, generation: credentials.generation, via };
  }

  private failure(reason: AuthFailureReason, deviceId?: string, retryAfterMs?: number): AuthOutcome {
    const base = { ok: false as const, reason, ...(deviceId !== undefined ? { deviceId } : {}) };
    switch (reason) {
      case "rate_limited":
        return {
          ...base,
          code: ErrorCode.RATE_LIMITED,
          closeCode: CloseCode.RATE_LIMITED,
          retryAfterMs: retryAfterMs ?? 0,
        };
      case "token_rejected":
        return { ...base, code: ErrorCode.TOKEN_REJECTED, closeCode: CloseCode.TOKEN_REJECTED };
      case "device_disabled":
        return { ...base, code: ErrorCode.DEVICE_DISABLED, closeCode: CloseCode.DEVICE_DISABLED };
      case "busy":
        return {
          ...base,
          code: ErrorCode.TRY_LATER,
          closeCode: CloseCode.TRY_LATER,
          retryAfterMs: retryAfterMs ?? 1_000,
        };
      default:
        // This failure may have just locked the key: say so, so the device waits instead of retrying into the lock.
        return retryAfterMs
          ? { ...base, code: ErrorCode.RATE_LIMITED, closeCode: CloseCode.RATE_LIMITED, retryAfterMs }
          : { ...base, code: ErrorCode.AUTH_FAILED, closeCode: CloseCode.AUTH_FAILED };
    }
  }
}
