import Database from "better-sqlite3";
import { StoreUnavailableError } from "../../errors.js";
import type { Store } from "../types.js";
import { SqliteCommandRepository } from "./sqlite-command-repository.js";
import { SqliteDb } from "./sqlite-db.js";
import { SqliteDeviceRepository } from "./sqlite-device-repository.js";
import { mapSqliteError } from "./sqlite-errors.js";
import { SqliteEventRepository } from "./sqlite-event-repository.js";
import { SqliteGroupRepository } from "./sqlite-group-repository.js";
import { migrateSqlite } from "./sqlite-migrate.js";
import { SqliteStateRepository } from "./sqlite-state-repository.js";
import { SqliteStatusRepository } from "./sqlite-status-repository.js";
import { SqliteTokenRepository } from "./sqlite-token-repository.js";

export interface SqliteStoreOptions {
  /** Database file, or ":memory:" for a private in-memory database. The directory must exist. */
  path: string;
  /** How long a write waits for another process's lock before failing with StoreUnavailableError. Default 5000. */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) a SQLite database file, applies pending migrations and returns its store. */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  let raw: Database.Database | undefined;
  try {
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
  return new SqliteStore(new SqliteDb(raw));
}

/** Every repository over one SQLite handle. */
class SqliteStore implements Store {
  readonly dialect = "sqlite";
  readonly devices: SqliteDeviceRepository;
  readonly groups: SqliteGroupRepository;
  readonly commands: SqliteCommandRepository;
  readonly status: SqliteStatusRepository;
  readonly state: SqliteStateRepository;
  readonly events: SqliteEventRepository;
  readonly tokens: SqliteTokenRepository;

  constructor(private readonly db: SqliteDb) {
    this.devices = new SqliteDeviceRepository(db);
    this.groups = new SqliteGroupRepository(db);
    this.commands = new SqliteCommandRepository(db);
    this.status = new SqliteStatusRepository(db);
    this.state = new SqliteStateRepository(db);
    this.events = new SqliteEventRepository(db);
    this.tokens = new SqliteTokenRepository(db);
  }

  async ping(): Promise<void> {
    this.db.run(() => this.db.get("SELECT 1 AS ok"));
  }

  async close(): Promise<void> {
    if (this.db.isClosed) return;
    try {
      this.db.close();
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }
}
