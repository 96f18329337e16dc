import type { Pool } from "mysql2/promise";
import { type Migration, pendingMigrations } from "../sql/migration.js";
import { MYSQL_MIGRATIONS } from "./mysql-migrations.js";

/** How long a starting server waits for another one to finish migrating. */
const LOCK_TIMEOUT_S = 60;

/**
 * Applies pending migrations under a named server lock (GET_LOCK), so several servers
 * starting together migrate once: the others wait, then find nothing to do. Each migration
 * is recorded right after its statements, since MySQL DDL commits on its own.
 * Returns the versions it applied.
 */
export async function migrateMysql(
  pool: Pool,
  migrations: readonly Migration[] = MYSQL_MIGRATIONS,
  now: () => number = Date.now,
): Promise<number[]> {
  const conn = await pool.getConnection();
  try {
    // Lock names are server-wide and at most 64 characters: scope by a hash of the database name.
    const [locked] = await conn.query(
      "SELECT GET_LOCK(CONCAT('cloudedge_migrate_', SHA1(DATABASE())), ?) AS ok",
      [LOCK_TIMEOUT_S],
    );
    if (Number((locked as Array<{ ok: unknown }>)[0]?.ok) !== 1) {
      throw new Error(`timed out after ${LOCK_TIMEOUT_S}s waiting for another server to finish migrating`);
    }
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS cloudedge_migrations (
           version INT NOT NULL PRIMARY KEY,
           name VARCHAR(255) NOT NULL,
           applied_at BIGINT NOT NULL
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      );
      const [rows] = await conn.query("SELECT version FROM cloudedge_migrations");
      const applied = new Set((rows as Array<{ version: unknown }>).map((r) => Number(r.version)));
      const pending = pendingMigrations(migrations, applied);
      for (const migration of pending) {
        for (const statement of migration.statements) await conn.query(statement).catch(alreadyDone);
        await conn.query("INSERT INTO cloudedge_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
          migration.version,
          migration.name,
          now(),
        ]);
      }
      return pending.map((m) => m.version);
    } finally {
      await conn
        .query("SELECT RELEASE_LOCK(CONCAT('cloudedge_migrate_', SHA1(DATABASE())))")
        .catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}

/**
 * MySQL has no `ADD COLUMN IF NOT EXISTS` (MariaDB does): a migration cut off after its
 * ALTER and run again finds the column there, which is what the ALTER meant.
 */
function alreadyDone(error: unknown): void {
  if ((error as { code?: string }).code !== "ER_DUP_FIELDNAME") throw error;
}
