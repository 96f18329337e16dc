import type Database from "better-sqlite3";
import { type Migration, pendingMigrations } from "../sql/migration.js";
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.js";

/**
 * Applies pending migrations in one IMMEDIATE transaction (SQLite DDL is transactional): a
 * second process opening the same file waits on the write lock, then finds nothing to do.
 * Returns the versions it applied.
 */
export function migrateSqlite(
  db: Database.Database,
  migrations: readonly Migration[] = SQLITE_MIGRATIONS,
  now: () => number = Date.now,
): number[] {
  db.exec(
    "CREATE TABLE IF NOT EXISTS cloudedge_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
  );
  const migrate = db.transaction(() => {
    const rows = db.prepare("SELECT version FROM cloudedge_migrations").all() as Array<{ version: unknown }>;
    const pending = pendingMigrations(migrations, new Set(rows.map((r) => Number(r.version))));
    const record = db.prepare(
      "INSERT INTO cloudedge_migrations (version, name, applied_at) VALUES (?, ?, ?)",
    );
    for (const migration of pending) {
      for (const statement of migration.statements) db.exec(statement);
      record.run(migration.version, migration.name, now());
    }
    return pending.map((m) => m.version);
  });
  return migrate.immediate();
}
