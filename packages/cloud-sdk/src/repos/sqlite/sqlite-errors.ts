import Database from "better-sqlite3";
import {
  type CloudError,
  CloudErrorCode,
  ConflictError,
  isCloudError,
  NotFoundError,
  StoreUnavailableError,
} from "../../errors.js";
import { SchemaTooNewError } from "../sql/migration.js";

/** Decides which ConflictError a UNIQUE violation is; gets the driver's constraint description (never shown). */
export type OnDuplicate = (constraint: string) => CloudError;

const defaultDuplicate: OnDuplicate = () => new ConflictError(CloudErrorCode.CONFLICT, "already exists");

/**
 * Maps a better-sqlite3 error to the SDK's errors: UNIQUE → ConflictError, FOREIGN KEY → the
 * device is gone, everything else (SQLITE_BUSY after busy_timeout, I/O, a closed handle) →
 * StoreUnavailableError with the driver error kept as `cause` for logs only.
 */
export function mapSqliteError(err: unknown, onDuplicate: OnDuplicate = defaultDuplicate): Error {
  if (isCloudError(err) || err instanceof SchemaTooNewError) return err;
  if (err instanceof Database.SqliteError) {
    if (err.code === "SQLITE_CONSTRAINT_UNIQUE" || err.code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
      return onDuplicate(err.message.replace(/^UNIQUE constraint failed: /, ""));
    }
    if (err.code === "SQLITE_CONSTRAINT_FOREIGNKEY") {
      return new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
    }
  }
  return new StoreUnavailableError(err);
}
