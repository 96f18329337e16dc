import mysql, { type PoolOptions } from "mysql2/promise";
import { DEFAULT_STORE_TIMEOUT_MS } from "../sql/sql-db.js";
import { SqlStore } from "../sql/sql-store.js";
import type { Store } from "../types.js";
import { MysqlDb } from "./mysql-db.js";
import { MYSQL_DIALECT } from "./mysql-dialect.js";
import { mapMysqlError } from "./mysql-errors.js";
import { migrateMysql } from "./mysql-migrate.js";

interface CommonOptions {
  createDatabase?: boolean;
  /**
   * Bound of one store call — connection acquire (the TCP connect and handshake included),
   * its statements and its commit — after which it fails with StoreUnavailableError and a
   * connection that did not answer is dropped. Default 5000.
   */
  timeoutMs?: number;
}

/** Either a URL `mysql://user:pass@host:port/db[?connectionLimit=N]` or mysql2 pool options (which must name a database). */
export type MysqlStoreOptions =
  | ({ url: string; connectionLimit?: number } & CommonOptions)
  | (PoolOptions & { url?: undefined } & CommonOptions);

const DEFAULT_CONNECTION_LIMIT = 10;

/** mysql2 pool options from a `mysql://` (or `mariadb://`) URL; the password never appears in errors. */
export function mysqlPoolOptionsFromUrl(url: string): PoolOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("invalid MySQL URL; expected mysql://user:pass@host:port/db");
  }
  if (parsed.protocol !== "mysql:" && parsed.protocol !== "mariadb:") {
    throw new Error(
      `unsupported MySQL URL scheme "${parsed.protocol}"; expected mysql://user:pass@host:port/db`,
    );
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (database === "") throw new Error("the MySQL URL must name a database: mysql://user:pass@host:port/db");
  const limit = parsed.searchParams.get("connectionLimit");
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    ...(limit !== null && Number(limit) > 0 ? { connectionLimit: Number(limit) } : {}),
  };
}

/**
 * Opens a pool to MySQL 8 / MariaDB 10.11+, creates the database when missing (unless
 * `createDatabase: false`), applies pending migrations and returns the store. An unreachable
 * server rejects with StoreUnavailableError; so does every call the server does not answer
 * within `timeoutMs`.
 */
export async function createMysqlStore(options: MysqlStoreOptions): Promise<Store> {
  const {
    url,
    createDatabase = true,
    timeoutMs = DEFAULT_STORE_TIMEOUT_MS,
    ...rest
  } = options as MysqlStoreOptions & { connectionLimit?: number };
  const base: PoolOptions =
    url !== undefined ? { ...mysqlPoolOptionsFromUrl(url), ...definedOnly(rest) } : rest;
  if (!base.database) throw new Error("MySQL store options must name a database");
  const poolOptions: PoolOptions = {
    connectionLimit: DEFAULT_CONNECTION_LIMIT,
    // A server that accepts TCP but never greets (stopped) fails a new connection within the bound.
    connectTimeout: timeoutMs,
    ...base,
    // Snowflakes exceed 2^53: BIGINTs must arrive as exact decimal strings, never as doubles.
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: "utf8mb4",
    // No call-site stack captured per query (mysql2 builds an Error for every call with it on:
    // ~7 % of a hub's CPU on the command path); driver errors are mapped to store errors anyway.
    trace: false,
  };
  let pool = mysql.createPool(poolOptions);
  try {
    try {
      await migrateMysql(pool);
    } catch (err) {
      if (!createDatabase || (err as { code?: unknown }).code !== "ER_BAD_DB_ERROR") throw err;
      await pool.end();
      await ensureDatabase(poolOptions);
      pool = mysql.createPool(poolOptions);
      await migrateMysql(pool);
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw mapMysqlError(err);
  }
  return new SqlStore(new MysqlDb(pool, timeoutMs), MYSQL_DIALECT);
}

async function ensureDatabase(options: PoolOptions): Promise<void> {
  const { database, connectionLimit: _limit, ...server } = options;
  const conn = await mysql.createConnection(server);
  try {
    // Identifiers cannot be bound as parameters; escapeId is the driver's quoting for them.
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS ${conn.escapeId(database ?? "")} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await conn.end();
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
