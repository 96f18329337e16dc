import Database from "better-sqlite3";
import { CloudErrorCode, isCloudError, NotFoundError, StoreUnavailableError } from "../../errors.js";
import { SchemaTooNewError } from "../sql/migration.js";
import { duplicateConflict, type OnDuplicate } from "../sql/sql-db.js";

function codeOf(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/** True for a UNIQUE or PRIMARY KEY violation. */
export function isUniqueViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** True for a FOREIGN KEY violation (foreign keys are immediate, so: the parent row does not exist). */
export function isForeignKeyViolation(err: unknown): boolean {
  return codeOf(err) === "SQLITE_CONSTRAINT_FOREIGNKEY";
}

/**
 * Maps a better-sqlite3 error to the SDK's errors: UNIQUE → ConflictError, FOREIGN KEY → the
 * device is gone, everything else (SQLITE_BUSY after busy_timeout, I/O, a closed handle) →
 * StoreUnavailableError with the driver error kept as `cause` for logs only.
 */
export function mapSqliteError(err: unknown, onDuplicate: OnDuplicate = duplicateConflict): Error {
  if (isCloudError(err) || err instanceof SchemaTooNewError) return err;
  if (isUniqueViolation(err)) {
    return onDuplicate(codeOf(err) === "SQLITE_CONSTRAINT_PRIMARYKEY" ? "primary" : "unique");
  }
  if (isForeignKeyViolation(err))
    return new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
  return new StoreUnavailableError(err);
}
