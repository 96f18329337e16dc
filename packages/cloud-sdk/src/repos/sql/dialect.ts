import type { SqlParam } from "./rows.js";

/**
 * Where the SQL of MySQL / MariaDB and SQLite differs, and only that: the repositories in
 * this folder are written once against it, and a new SQL backend is a Dialect plus a SqlDb
 * handed to `SqlStore` (docs/architecture.md, "Adding a backend"). Each member names the statement or clause it
 * stands for; fragments are text with `?` placeholders whose parameters the caller binds
 * in the order the doc gives.
 */
export interface Dialect {
  /** The backend's name (`mysql`, `sqlite`, or a third party's own), reported as `Store.dialect`. */
  readonly name: string;
  /** ` LIMIT n` for a page; pushes its parameter onto `params` where the driver binds one. */
  limit(count: number, params: SqlParam[]): string;
  /** Appended to a SELECT in a transaction that then writes the row ("" where the transaction holds the write lock). */
  readonly forUpdate: string;
  /** Appended to a SELECT in a transaction so the rows cannot be deleted before it commits ("" likewise). */
  readonly forShare: string;
  /** The comparison operator under which NULL equals NULL. */
  readonly nullSafeEquals: string;
  /** `expr` lower-cased for case-insensitive matching beyond ASCII. */
  lower(expr: string): string;
  /** Condition: the JSON object in `column` has a key; binds the key. */
  jsonHasKey(column: string): string;
  /** Condition: the JSON object in `column` maps a key to a string; binds the key, then the value. */
  jsonHasEntry(column: string): string;
  /** Ends an INSERT so rows whose key exists are skipped; unlike INSERT IGNORE it still fails on FK and type errors. */
  ignoreDuplicate(anyColumn: string): string;
  /** Ends the INSERT into status_latest: an existing row takes the new values only when the new ts is greater. */
  readonly keepNewestStatus: string;
  /** Moves devices.last_seen_at forward from `rows` (id, ts) pairs bound in order; never backwards. */
  touchLastSeen(rows: number): string;
  /**
   * Deletes the status_history rows whose `rank` — a window function over each device's rows
   * (`PARTITION BY device_id ORDER BY ts DESC`) — exceeds a bound. When `scoped`, only one
   * device's rows: binds its id first. Then binds the bound.
   */
  pruneStatusRanked(rank: string, scoped: boolean): string;
  /** The length in bytes of a TEXT expression. */
  byteLength(expr: string): string;
  /** Whether UPDATE … RETURNING exists (SQLite: yes; MySQL and MariaDB: no). */
  readonly updateReturning: boolean;
  /** The driver error of a duplicate primary or unique key. */
  isDuplicateKey(err: unknown): boolean;
  /** The driver error of a foreign key whose parent row does not exist. */
  isMissingParent(err: unknown): boolean;
}
