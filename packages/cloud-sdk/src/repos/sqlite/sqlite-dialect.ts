import { valueRows } from "../sql/batches.js";
import type { Dialect } from "../sql/dialect.js";
import { isForeignKeyViolation, isUniqueViolation } from "./sqlite-errors.js";

/** SQLite SQL for the shared repositories (sql/dialect.ts); needs SQLite 3.35+ (RETURNING, UPDATE … FROM). */
export const SQLITE_DIALECT: Dialect = {
  name: "sqlite",
  // Bound: statements are cached by text, so an inlined limit would cache one per page size.
  limit: (count, params) => {
    params.push(count);
    return " LIMIT ?";
  },
  // BEGIN IMMEDIATE already holds the database's only write lock.
  forUpdate: "",
  forShare: "",
  nullSafeEquals: "IS",
  // ce_lower is JS toLowerCase (SQLite's lower() is ASCII-only), so matching equals the memory store's.
  lower: (expr) => `ce_lower(${expr})`,
  // json_each matches any key exactly, with no JSON-path quoting to get wrong.
  jsonHasKey: (column) => `EXISTS (SELECT 1 FROM json_each(${column}) l WHERE l.key = ?)`,
  jsonHasEntry: (column) => `EXISTS (SELECT 1 FROM json_each(${column}) l WHERE l.key = ? AND l.value = ?)`,
  ignoreDuplicate: () => "ON CONFLICT DO NOTHING",
  keepNewestStatus: `ON CONFLICT (device_id) DO UPDATE SET
    ts = excluded.ts, received_at = excluded.received_at, data = excluded.data
    WHERE excluded.ts > status_latest.ts`,
  // A VALUES list has no 500-term limit, unlike a compound SELECT.
  touchLastSeen: (rows) =>
    `UPDATE devices SET last_seen_at = t.column2 FROM (VALUES ${valueRows(rows, 2)}) AS t
     WHERE devices.id = t.column1 AND (devices.last_seen_at IS NULL OR devices.last_seen_at < t.column2)`,
  pruneStatusRanked: (rank, scoped) => `DELETE FROM status_history WHERE (device_id, ts) IN (
      SELECT device_id, ts FROM (
        SELECT device_id, ts, ${rank} AS rn
        FROM status_history${scoped ? " WHERE device_id = ?" : ""}
      ) WHERE rn > ?
    )`,
  // length() of TEXT counts characters; octet_length() (SQLite 3.43+) counts UTF-8 bytes
  // without reading the value from its overflow pages.
  byteLength: (expr) => `octet_length(${expr})`,
  updateReturning: true,
  isDuplicateKey: isUniqueViolation,
  isMissingParent: isForeignKeyViolation,
};
