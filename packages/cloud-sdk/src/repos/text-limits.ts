import { ValidationError } from "../errors.js";

/**
 * The longest names, types, serial numbers and models every store keeps, in characters (the
 * MySQL columns are VARCHAR(255)): checked before any store is touched, so memory, SQLite and
 * MySQL refuse the same input with the same error.
 */
export const MAX_NAME_LENGTH = 255;

/** Throws one ValidationError naming every field of `fields` longer than `max` characters. */
export function checkLengths(
  what: string,
  fields: ReadonlyArray<readonly [path: string, value: string | null | undefined]>,
  max = MAX_NAME_LENGTH,
): void {
  const tooLong = fields.filter(([, value]) => typeof value === "string" && [...value].length > max);
  if (tooLong.length > 0) {
    throw new ValidationError(
      `invalid ${what}`,
      tooLong.map(([path]) => ({ path, message: `must be at most ${max} characters` })),
    );
  }
}
