/** One schema step of a dialect. Versions only grow; a shipped migration is never edited. */
export interface Migration {
  version: number;
  name: string;
  /** Run in order; each is one statement (MySQL runs DDL one statement at a time). */
  statements: string[];
}

/** The database was migrated by a newer cloudedge than this one: refusing to run beats corrupting it. */
export class SchemaTooNewError extends Error {
  override readonly name = "SchemaTooNewError";
  constructor(
    readonly databaseVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `database schema version ${databaseVersion} is newer than this cloudedge build supports ` +
        `(${supportedVersion}); upgrade cloudedge or point it at another database`,
    );
  }
}

/** The migrations still to apply, in order; throws SchemaTooNewError when the database is ahead. */
export function pendingMigrations(all: readonly Migration[], applied: ReadonlySet<number>): Migration[] {
  const latest = Math.max(0, ...all.map((m) => m.version));
  const newest = Math.max(0, ...applied);
  if (newest > latest) throw new SchemaTooNewError(newest, latest);
  return [...all].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version));
}
