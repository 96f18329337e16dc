import { CloseCode, ErrorCode, type HelloPdu } from "@cloudedge/protocol";
import type { DeviceCredentials, DeviceRepository } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { type LoginKeys, type LoginLimitRules, LoginLimits } from "./login-limits.js";
import type { ResumeTokens } from "./resume-tokens.js";
import { generateSecret, hashSecret, verifySecret } from "./secrets.js";

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
      /** The id a held-off hello named, not looked up (a locked attacker costs no query). */
      claimedDeviceId?: string;
    };

type AuthRefusal = Extract<AuthOutcome, { ok: false }>;

export interface DeviceAuthenticatorOptions extends LoginLimitRules {
  devices: DeviceRepository;
  tokens: ResumeTokens;
  clock?: Clock;
  /** false: ignore tokens and always verify the secret (benchmarks). Default true. */
  acceptTokens?: boolean;
  /**
   * bcrypt checks allowed at once. Beyond it a secret login is told to try later (1–5 s);
   * token resumes are never held back by it. Default 256.
   */
  maxConcurrentSecretChecks?: number;
  /** The cost of the dummy hash an unknown device is checked against: the cost new secrets get. Default 10. */
  bcryptCost?: number;
  random?: () => number;
}

/**
 * Authenticates a `hello` (docs/protocol.md §4.1): a valid resume token of the current
 * credential generation is enough (one HMAC) and no failure lockout holds it back;
 * otherwise the secret is checked with bcrypt off the event loop, each check reserved in
 * the login limits (per device, per (device, address), per address) before it runs.
 */
export class DeviceAuthenticator {
  private readonly clock: Clock;
  readonly limits: LoginLimits;
  private readonly acceptTokens: boolean;
  /** bcrypt verifications in flight. */
  private secretChecks = 0;
  /**
   * A hash of a random string at the configured cost, made once (off the event loop), so
   * an unknown device costs as long as a wrong secret (issue #21.9).
   */
  readonly dummyHash: Promise<string>;

  constructor(private readonly options: DeviceAuthenticatorOptions) {
    this.clock = options.clock ?? systemClock;
    this.limits = new LoginLimits(options, this.clock);
    this.acceptTokens = options.acceptTokens ?? true;
    this.dummyHash = hashSecret(generateSecret(), options.bcryptCost ?? 10);
  }

  async authenticate(hello: HelloPdu, remoteAddress: string): Promise<AuthOutcome> {
    const keys = {
      device: hello.deviceId ?? `${hello.serialNumber}\u0000${hello.model}`,
      address: remoteAddress,
    };
    if (hello.token !== undefined && this.acceptTokens) {
      const outcome = await this.resume(hello, hello.token, keys);
      if (outcome) return outcome;
    }
    if (hello.secret === undefined) return this.failure("token_rejected");
    return this.checkSecret(hello, hello.secret, keys);
  }

  /**
   * The token path: accepted, or refused when no secret follows; undefined to go on with
   * the secret. A validly signed token is never held by a lockout (no one but the hub can
   * make one); a forged or malformed one counts as a failure unless a secret follows.
   */
  private async resume(hello: HelloPdu, token: string, keys: LoginKeys): Promise<AuthOutcome | undefined> {
    const verdict = this.options.tokens.verify(token, this.clock.now());
    if (verdict.ok) {
      const credentials = await this.lookup(hello);
      if (
        credentials &&
        verdict.claims.deviceId === credentials.deviceId &&
        verdict.claims.generation === credentials.generation
      ) {
        return this.accept(credentials, "token");
      }
      // Genuine but of an older generation or another device: routine, not counted.
      return hello.secret === undefined ? this.failure("token_rejected", credentials?.deviceId) : undefined;
    }
    if (hello.secret !== undefined) return undefined; // the secret attempt is what counts
    // Expired tokens are routine (the device retries with its secret): not counted.
    if (verdict.reason === "expired") return this.failure("token_rejected", await this.knownId(hello));
    const held = this.limits.tokenWait(keys);
    if (held > 0) return this.held(hello, held);
    const lockMs = this.limits.tokenFailed(keys);
    const deviceId = await this.knownId(hello);
    return lockMs > 0
      ? this.failure("rate_limited", deviceId, lockMs)
      : this.failure("token_rejected", deviceId);
  }

  private async checkSecret(hello: HelloPdu, secret: string, keys: LoginKeys): Promise<AuthOutcome> {
    // Only the expensive path is bounded: a storm of token resumes never waits behind bcrypt.
    if (this.secretChecks >= (this.options.maxConcurrentSecretChecks ?? 256)) {
      const retryAfterMs = Math.round(1_000 + (this.options.random ?? Math.random)() * 4_000);
      return this.failure("busy", undefined, retryAfterMs);
    }
    // Reserved before any await: concurrent attempts see each other (issue #21.2).
    const wait = this.limits.secretWait(keys);
    if (wait > 0) return this.held(hello, wait);
    this.limits.begin(keys);
    this.secretChecks++;
    let credentials: DeviceCredentials | undefined;
    let valid: boolean;
    try {
      credentials = await this.lookup(hello);
      valid = await verifySecret(secret, credentials?.secretHash ?? (await this.dummyHash));
    } catch (error) {
      this.limits.end(keys, "aborted");
      throw error;
    } finally {
      this.secretChecks--;
    }
    if (credentials && valid) {
      this.limits.end(keys, "succeeded");
      return this.accept(credentials, "secret");
    }
    const held = this.limits.end(keys, "failed");
    return this.failure(
      credentials ? "bad_secret" : "unknown_device",
      credentials?.deviceId,
      held || undefined,
    );
  }

  /** Forgets rate-limit entries with nothing left to remember (called by the hub's sweep). */
  sweep(): void {
    this.limits.sweep();
  }

  private async lookup(hello: HelloPdu): Promise<DeviceCredentials | undefined> {
    const { devices } = this.options;
    if (hello.deviceId !== undefined) return devices.getCredentials(hello.deviceId);
    if (hello.serialNumber === undefined || hello.model === undefined) return undefined;
    const device = await devices.findBySerial(hello.serialNumber, hello.model);
    return device ? devices.getCredentials(device.id) : undefined;
  }

  /**
   * A hello held off by the login limits, refused without a lookup. The hint gets up to 1 s
   * of jitter: the devices of one NAT address held by its in-flight cap do not all come back
   * in the same millisecond.
   */
  private held(hello: HelloPdu, retryAfterMs: number): AuthOutcome {
    const jittered = Math.round(retryAfterMs + (this.options.random ?? Math.random)() * 1_000);
    const outcome = this.failure("rate_limited", undefined, jittered);
    return hello.deviceId !== undefined ? { ...outcome, claimedDeviceId: hello.deviceId } : outcome;
  }

  /** The id of the device a hello names, when it exists (for the event log). */
  private async knownId(hello: HelloPdu): Promise<string | undefined> {
    return (await this.lookup(hello))?.deviceId;
  }

  private accept(credentials: DeviceCredentials, via: "token" | "secret"): AuthOutcome {
    if (credentials.disabled) return this.failure("device_disabled", credentials.deviceId);
    return { ok: true, deviceId: credentials.deviceId, generation: credentials.generation, via };
  }

  private failure(reason: AuthFailureReason, deviceId?: string, retryAfterMs?: number): AuthRefusal {
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
