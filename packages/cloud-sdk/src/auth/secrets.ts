import { randomBytes } from "node:crypto";
import bcrypt from "bcrypt";

/** Minimum length of a caller-supplied (factory-provisioned) device secret. */
export const MIN_SECRET_LENGTH = 16;

/** A new random device secret: 32 bytes, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** Counts bcrypt verifications, so tests and metrics can prove token resumes skip bcrypt. */
export const bcryptStats = { hashes: 0, verifications: 0 };

/**
 * bcrypt hash of a secret. bcrypt's async API runs in libuv's thread pool: the event loop
 * keeps serving heartbeats while a login storm is hashing (the original ran it inline).
 */
export async function hashSecret(secret: string, cost = 10): Promise<string> {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new RangeError("bcrypt cost must be 4..31");
  bcryptStats.hashes++;
  return bcrypt.hash(secret, cost);
}

/** Constant-time bcrypt check of a secret against its hash, off the event loop. */
export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  bcryptStats.verifications++;
  try {
    return await bcrypt.compare(secret, hash);
  } catch {
    return false; // a malformed stored hash is a failed login, not a crash
  }
}
