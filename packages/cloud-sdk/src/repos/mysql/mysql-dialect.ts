import type { Dialect } from "../sql/dialect.js";
import { isDuplicateEntry, isMissingReferencedRow } from "./mysql-errors.js";

/** MySQL 8 / MariaDB 10.11+ SQL for the shared repositories (sql/dialect.ts). */
export const MYSQL_DIALECT: Dialect = {
  name: "mysql",
  // Inlined, not bound: mysql2 binds JS numbers as DOUBLE, which MySQL 8.0.22+ refuses for a prepared LIMIT.
  limit: (count) => ` LIMIT ${count}`,
  forUpdate: " FOR UPDATE",
  forShare: " LOCK IN SHARE MODE",
  nullSafeEquals: "<=>",
  // Columns are utf8mb4_bin (exact), so matching lowers both sides.
  lower: (expr) => `LOWER(${expr})`,
  // JSON_KEYS / JSON_OBJECT take the key as a value, so no JSON-path quoting can go wrong.
  jsonHasKey: (column) => `JSON_CONTAINS(JSON_KEYS(${column}), JSON_QUOTE(?))`,
  jsonHasEntry: (column) => `JSON_CONTAINS(${column}, JSON_OBJECT(?, ?))`,
  // A no-op update, not INSERT IGNORE, which would also swallow FK errors and truncate values.
  ignoreDuplicate: (column) => `ON DUPLICATE KEY UPDATE ${column} = ${column}`,
  // Assignments run left to right: ts must change last, after the others compared against the old ts.
  keepNewestStatus: `ON DUPLICATE KEY UPDATE
    data = IF(VALUES(ts) > ts, VALUES(data), data),
    received_at = IF(VALUES(ts) > ts, VALUES(received_at), received_at),
    ts = GREATEST(ts, VALUES(ts))`,
  touchLastSeen: (rows) =>
    `UPDATE devices d JOIN (${Array.from({ length: rows }, () => "SELECT ? AS id, ? AS ts").join(" UNION ALL ")}) t
     ON d.id = t.id SET d.last_seen_at = t.ts WHERE d.last_seen_at IS NULL OR d.last_seen_at < t.ts`,
  // The derived table is materialised first, which is what lets MySQL delete from the table it reads.
  pruneStatusRanked: (rank, scoped) => `DELETE h FROM status_history h JOIN (
      SELECT device_id, ts FROM (
        SELECT device_id, ts, ${rank} AS rn
        FROM status_history${scoped ? " WHERE device_id = ?" : ""}
      ) ranked WHERE rn > ?
    ) old ON h.device_id = old.device_id AND h.ts = old.ts`,
  byteLength: (expr) => `LENGTH(${expr})`,
  updateReturning: false,
  isDuplicateKey: isDuplicateEntry,
  isMissingParent: isMissingReferencedRow,
};
