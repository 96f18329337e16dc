import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { loadDriver } from "./load-driver.js";
import { createMemoryStore } from "./memory/memory-store.js";
import type { Store } from "./types.js";

export interface OpenStoreOptions {
  /**
   * Bound of one store call before it fails with StoreUnavailableError: MySQL's connection
   * acquire + statements + commit, SQLite's busy wait for a lock. Default 5000 ms.
   */
  timeoutMs?: number;
}

const USAGE = "expected memory:, sqlite:<path> or mysql://user:pass@host:port/db";

/**
 * Opens the store a `CLOUDEDGE_DB` URL names: `memory:`, `sqlite:<path>` (`sqlite::memory:`
 * for a private in-memory database; the file's directory is created), or
 * `mysql://user:pass@host:port/db` (also `mariadb://`). A SQL driver is imported only when
 * its URL asks for it; when its optional package is missing this rejects with
 * DriverMissingError (code `driver_missing`) naming the package to install.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const { timeoutMs } = options;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "memory":
      return createMemoryStore();
    case "sqlite": {
      const path = sqlitePath(url.slice("sqlite:".length));
      const { createSqliteStore } = await loadDriver(
        "better-sqlite3",
        () => import("./sqlite/sqlite-store.js"),
      );
      // 0700: the database holds bcrypt and token hashes (a directory that exists keeps its mode).
      if (path !== ":memory:") await mkdir(dirname(resolve(path)), { recursive: true, mode: 0o700 });
      return createSqliteStore({ path, ...(timeoutMs !== undefined ? { busyTimeoutMs: timeoutMs } : {}) });
    }
    case "mysql":
    case "mariadb": {
      const { createMysqlStore } = await loadDriver("mysql2", () => import("./mysql/mysql-store.js"));
      return createMysqlStore({ url, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    }
    case undefined:
      throw new Error(`invalid store URL; ${USAGE}`);
    default:
      // Only the scheme is echoed: the rest of a URL may hold a password.
      throw new Error(`unsupported store URL scheme "${scheme}:"; ${USAGE}`);
  }
}

/** The database file a `sqlite:` store URL names; undefined for other stores and `sqlite::memory:`. */
export function sqliteFilePath(url: string): string | undefined {
  if (!/^sqlite:/i.test(url)) return undefined;
  const path = sqlitePath(url.slice("sqlite:".length));
  return path === ":memory:" ? undefined : path;
}

/** `sqlite:./data/x.db`, `sqlite:/abs/x.db` and `sqlite:///abs/x.db` all name a file path. */
function sqlitePath(rest: string): string {
  const path = rest.startsWith("//") ? rest.slice(2) : rest;
  if (path === "") throw new Error(`the sqlite store URL needs a path; ${USAGE}`);
  return path;
}
