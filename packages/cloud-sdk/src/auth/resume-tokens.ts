import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** What a valid resume token proves. */
export interface ResumeClaims {
  deviceId: string;
  generation: number;
  expiresAt: number;
}

export type TokenVerdict =
  | { ok: true; claims: ResumeClaims }
  | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

const PREFIX = "v1";
/** HMAC-SHA256 in unpadded base64url: 32 bytes are exactly 43 characters. */
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Resume tokens: `v1.<deviceId>.<generation>.<expiresAt>.<HMAC-SHA256 base64url>` with a
 * server key. Verifying costs one HMAC (microseconds), so a reconnect storm never runs
 * bcrypt. The generation ties a token to the device's current credentials: rotating the
 * secret, disabling or deleting the device bumps it and every older token fails.
 */
export class ResumeTokens {
  private readonly key: Buffer;

  constructor(
    key: string | Buffer,
    readonly ttlMs = 7 * 24 * 3600_000,
  ) {
    this.key = typeof key === "string" ? Buffer.from(key, "utf8") : key;
    if (this.key.length < 32) throw new RangeError("the resume-token key must be at least 32 bytes");
  }

  /** A fresh random key (hex) for CLOUDEDGE_TOKEN_KEY. */
  static generateKey(): string {
    return randomBytes(32).toString("hex");
  }

  issue(deviceId: string, generation: number, now: number): { token: string; expiresAt: number } {
    const expiresAt = now + this.ttlMs;
    const body = `${PREFIX}.${deviceId}.${generation}.${expiresAt}`;
    return { token: `${body}.${this.sign(body)}`, expiresAt };
  }

  verify(token: string, now: number): TokenVerdict {
    const parts = token.split(".");
    if (parts.length !== 5 || parts[0] !== PREFIX) return { ok: false, reason: "malformed" };
    const [, deviceId, generation, expiresAt, signature] = parts as [string, string, string, string, string];
    if (!/^\d{1,20}$/.test(deviceId) || !/^\d{1,15}$/.test(generation) || !/^\d{1,16}$/.test(expiresAt)) {
      return { ok: false, reason: "malformed" };
    }
    // The exact characters, compared in constant time: a lenient base64url decode would
    // accept other spellings of the same bytes (a trailing `=`, stray bits in the last character).
    const expected = Buffer.from(this.sign(`${PREFIX}.${deviceId}.${generation}.${expiresAt}`), "ascii");
    const given = Buffer.from(signature, "utf8");
    if (!SIGNATURE.test(signature) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: "bad_signature" };
    }
    if (Number(expiresAt) <= now) return { ok: false, reason: "expired" };
    return { ok: true, claims: { deviceId, generation: Number(generation), expiresAt: Number(expiresAt) } };
  }

  private sign(body: string): string {
    return createHmac("sha256", this.key).update(body).digest("base64url");
  }
}
