import { ValidationError } from "../errors.js";

// Snowflakes are positive 63-bit integers; both SQL dialects store them as 64-bit integers.
const MAX_ID = (1n << 63n) - 1n;
const ID_PATTERN = /^(0|[1-9][0-9]{0,18})$/;

/** The id as a 64-bit integer, or undefined when it is not a canonical decimal Snowflake string. */
export function parseId(id: unknown): bigint | undefined {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) return undefined;
  const value = BigInt(id);
  return value <= MAX_ID ? value : undefined;
}

/** Like parseId, but a malformed id is the caller's mistake: throws ValidationError. */
export function requireId(id: unknown, field = "id"): bigint {
  const value = parseId(id);
  if (value === undefined) {
    throw new ValidationError(`${field} must be a decimal Snowflake id`, [
      { path: field, message: "expected a decimal 64-bit integer string" },
    ]);
  }
  return value;
}

/** Numeric order of two canonical id strings (string order would put "9" after "10"). */
export function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
