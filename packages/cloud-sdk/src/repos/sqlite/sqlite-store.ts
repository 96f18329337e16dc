import { closeSync, existsSync, openSync } from "node:fs";
import Database from "better-sqlite3";
import { SqlStore } from "../sql/sql-store.js";
import type { Store } from "../types.js";
import { SqliteDb } from "./sqlite-db.js";
import { SQLITE_DIALECT } from "./sqlite-dialect.js";
import { mapSqliteError } from "./sqlite-errors.js";
import { migrateSqlite } from "./sqlite-migrate.js";

export interface SqliteStoreOptions {
  /** Database file, or ":memory:" for a private in-memory database. The directory must exist. */
  path: string;
  /** How long a write waits for another process's lock before failing with StoreUnavailableError. Default 5000. */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) a SQLite database file, applies pending migrations and returns its store. */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  return new SqlStore(openSqliteDb(options), SQLITE_DIALECT);
}

/**
 * Creates a missing database file with mode 0600 before SQLite opens it: it holds bcrypt and
 * token hashes, and SQLite gives its -wal and -shm files the database file's mode.
 */
function createPrivately(path: string): void {
  if (path === ":memory:" || path === "" || path.startsWith("file:") || existsSync(path)) return;
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (error) {
    // Another worker created it first: it did so with this same mode.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

/**
 * The database under `createSqliteStore`: opened with the settings its SQL relies on (exact
 * 64-bit integers, WAL, foreign keys, the `ce_lower` function) and migrated.
 */
export function openSqliteDb(options: SqliteStoreOptions): SqliteDb {
  let raw: Database.Database | undefined;
  try {
    createPrivately(options.path);
    raw = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    // Ids exceed 2^53: every integer is read as a bigint and converted exactly (see sql/rows.ts).
    raw.defaultSafeIntegers(true);
    raw.pragma("journal_mode = WAL");
    // WAL + NORMAL: a crash loses at most the last transactions, never corrupts; fsync per commit would cap status ingest.
    raw.pragma("synchronous = NORMAL");
    raw.pragma("foreign_keys = ON");
    raw.function("ce_lower", { deterministic: true }, (value: unknown) =>
      typeof value === "string" ? value.toLowerCase() : value,
    );
    migrateSqlite(raw);
  } catch (err) {
    raw?.close();
    throw mapSqliteError(err);
  }
  return new SqliteDb(raw);
}
