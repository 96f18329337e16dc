import { type CloudError, CloudErrorCode, ConflictError } from "../../errors.js";
import type { Row, SqlParam } from "./rows.js";

/** Which unique index a duplicate-key error hit: the table's primary key, or another unique index. */
export type DuplicateKey = "primary" | "unique";

/** Decides which ConflictError a duplicate-key error is (the index is never shown to callers). */
export type OnDuplicate = (key: DuplicateKey) => CloudError;

/** The OnDuplicate of work that names none. */
export const duplicateConflict: OnDuplicate = () =>
  new ConflictError(CloudErrorCode.CONFLICT, "already exists");

/**
 * Statements on one database: the whole store in autocommit mode, or one open transaction.
 * Placeholders are `?` in both dialects. Drivers' errors pass through unchanged, so a
 * repository can catch the one it expects; SqlDb maps the rest.
 */
export interface SqlRunner {
  /** The rows of a statement with fixed text (prepared once and cached). */
  all(sql: string, params?: SqlParam[]): Promise<Row[]>;
  /** The first row of a statement with fixed text, if any. */
  get(sql: string, params?: SqlParam[]): Promise<Row | undefined>;
  /** Runs a write with fixed text; resolves to how many rows it changed. */
  write(sql: string, params?: SqlParam[]): Promise<number>;
  /** Like all(), for text that varies with the data (IN lists): kept out of every statement cache. */
  allUncached(sql: string, params: SqlParam[]): Promise<Row[]>;
  /** Like write(), for text that varies with the data (multi-row VALUES): kept out of every statement cache. */
  writeUncached(sql: string, params: SqlParam[]): Promise<number>;
}

/** How one store call may run. */
export interface RunOptions {
  /**
   * Housekeeping that may legitimately take long (retention deletes over a big table): its
   * time bound is MAINTENANCE_TIMEOUT_MS instead of the store's (when that is shorter).
   */
  maintenance?: boolean;
}

/**
 * Default bound of one store call (connection acquire, statements, commit; SQLite's busy
 * wait): past it the call fails with StoreUnavailableError (HTTP 503 store_unavailable).
 */
export const DEFAULT_STORE_TIMEOUT_MS = 5_000;

/** The time bound of maintenance work. */
export const MAINTENANCE_TIMEOUT_MS = 60_000;

/** A store's database connection(s): runs repository work and maps driver errors to the SDK's errors. */
export interface SqlDb {
  /** Runs `work` in autocommit mode (each statement commits on its own). */
  run<T>(work: (db: SqlRunner) => Promise<T>, onDuplicate?: OnDuplicate, options?: RunOptions): Promise<T>;
  /** Runs `work` in one transaction; `work` may run more than once (MySQL retries a deadlock victim). */
  tx<T>(work: (db: SqlRunner) => Promise<T>, onDuplicate?: OnDuplicate, options?: RunOptions): Promise<T>;
  /** Idempotent; afterwards run() and tx() reject with StoreUnavailableError. */
  close(): Promise<void>;
}
