/**
 * Rows per multi-row INSERT and ids per IN list: few round trips, yet far below MySQL's
 * max_allowed_packet and SQLite's 32766 bound parameters even at six columns a row.
 */
export const BATCH_SIZE = 500;

/** `items` in consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size = BATCH_SIZE): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** `?, ?, ?` for an IN list of `count` values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/** `(?, ?), (?, ?)` for a multi-row VALUES of `rows` rows with `columns` values each. */
export function valueRows(rows: number, columns: number): string {
  const row = `(${placeholders(columns)})`;
  return Array.from({ length: rows }, () => row).join(", ");
}
