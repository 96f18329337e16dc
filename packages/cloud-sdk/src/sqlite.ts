/**
 * @cloudedge/cloud-sdk/sqlite — the SQLite store. Needs the optional peer `better-sqlite3`
 * (`npm i better-sqlite3`); the root entry never loads it (openStore imports this on demand).
 */

export { SqliteDb } from "./repos/sqlite/sqlite-db.js";
export { SQLITE_DIALECT } from "./repos/sqlite/sqlite-dialect.js";
export { migrateSqlite } from "./repos/sqlite/sqlite-migrate.js";
export { SQLITE_MIGRATIONS } from "./repos/sqlite/sqlite-migrations.js";
export { createSqliteStore, openSqliteDb, type SqliteStoreOptions } from "./repos/sqlite/sqlite-store.js";
