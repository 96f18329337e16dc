import type { Clock } from "../util/clock.js";
import { FailureRateLimiter, type RateLimitRule } from "./rate-limiter.js";

/** The three login limits (docs/protocol.md §4.1, "Rate limits and lockout"). */
export interface LoginLimitRules {
  /**
   * Failed logins per (device, address): the tight limit, so an attacker locks out only
   * its own address. Default: 2 free failures, then a backoff of 1 s doubling, locked
   * 60 s at 5 failures per minute; one secret check in flight.
   */
  perDeviceAddress?: RateLimitRule;
  /**
   * Failed secret logins per device from all addresses together: bounds guessing by a
   * botnet, much higher than the per-(device, address) limit. Default 100 per minute,
   * then locked 60 s; two secret checks in flight.
   */
  perDevice?: RateLimitRule;
  /** Failed logins per remote address, over all devices. Default 20 per minute, then locked 60 s; four checks in flight. */
  perAddress?: RateLimitRule;
}

const MINUTE = 60_000;
const DEFAULTS: Required<LoginLimitRules> = {
  perDeviceAddress: {
    maxFailures: 5,
    windowMs: MINUTE,
    lockMs: MINUTE,
    freeFailures: 2,
    backoffMs: 1_000,
    maxInFlight: 1,
  },
  perDevice: { maxFailures: 100, windowMs: MINUTE, lockMs: MINUTE, maxInFlight: 2 },
  perAddress: { maxFailures: 20, windowMs: MINUTE, lockMs: MINUTE, maxInFlight: 4 },
};

/** One login attempt's keys in the three limiters. */
export interface LoginKeys {
  device: string;
  address: string;
}

/**
 * The login limits together. A secret check is reserved in all three before bcrypt runs,
 * so concurrent attempts cannot overshoot them; a failed token counts only per address and
 * per (device, address): it costs no bcrypt, and counting it per device would let anyone
 * lock the device's secret logins cheaply.
 */
export class LoginLimits {
  readonly byDevice: FailureRateLimiter;
  readonly byDeviceAddress: FailureRateLimiter;
  readonly byAddress: FailureRateLimiter;

  constructor(rules: LoginLimitRules, clock: Clock) {
    this.byDevice = new FailureRateLimiter(rules.perDevice ?? DEFAULTS.perDevice, clock);
    this.byDeviceAddress = new FailureRateLimiter(rules.perDeviceAddress ?? DEFAULTS.perDeviceAddress, clock);
    this.byAddress = new FailureRateLimiter(rules.perAddress ?? DEFAULTS.perAddress, clock);
  }

  /** Milliseconds a secret check of these keys must wait; 0 when it may start now. */
  secretWait(keys: LoginKeys): number {
    return Math.max(
      this.byDevice.wait(keys.device),
      this.byDeviceAddress.wait(pair(keys)),
      this.byAddress.wait(keys.address),
    );
  }

  /** Milliseconds a failed token of these keys is held off; 0 when it is merely rejected. */
  tokenWait(keys: LoginKeys): number {
    return Math.max(this.byDeviceAddress.retryAfter(pair(keys)), this.byAddress.retryAfter(keys.address));
  }

  /** Reserves a secret check (after `secretWait` said 0, with no await between). */
  begin(keys: LoginKeys): void {
    this.byDevice.begin(keys.device);
    this.byDeviceAddress.begin(pair(keys));
    this.byAddress.begin(keys.address);
  }

  /**
   * Ends a reserved secret check. Returns how long the keys must now wait (0: not held).
   * A success clears only its (device, address) key: it does not forgive what other
   * addresses did to the device, nor what this address did to other devices.
   */
  end(keys: LoginKeys, verdict: "failed" | "succeeded" | "aborted"): number {
    if (verdict === "failed") {
      this.byDevice.fail(keys.device);
      this.byDeviceAddress.fail(pair(keys));
      this.byAddress.fail(keys.address);
      return this.retryAfter(keys);
    }
    if (verdict === "succeeded") this.byDeviceAddress.succeed(pair(keys));
    else this.byDeviceAddress.release(pair(keys));
    this.byDevice.release(keys.device);
    this.byAddress.release(keys.address);
    return 0;
  }

  /** Counts a failed token; returns how long the keys must now wait (0: not held). */
  tokenFailed(keys: LoginKeys): number {
    this.byDeviceAddress.fail(pair(keys));
    this.byAddress.fail(keys.address);
    return this.tokenWait(keys);
  }

  sweep(): void {
    this.byDevice.sweep();
    this.byDeviceAddress.sweep();
    this.byAddress.sweep();
  }

  private retryAfter(keys: LoginKeys): number {
    return Math.max(
      this.byDevice.retryAfter(keys.device),
      this.byDeviceAddress.retryAfter(pair(keys)),
      this.byAddress.retryAfter(keys.address),
    );
  }
}

const pair = (keys: LoginKeys): string => `${keys.device}\u0001${keys.address}`;
