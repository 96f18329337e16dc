import {
  CloudErrorCode,
  isCloudError,
  NotFoundError,
  StoreUnavailableError,
  ValidationError,
} from "../../errors.js";
import { SchemaTooNewError } from "../sql/migration.js";
import { duplicateConflict, type OnDuplicate } from "../sql/sql-db.js";

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** True for the errors after which a retry of the whole transaction may succeed. */
export function isDeadlock(err: unknown): boolean {
  return codeOf(err) === "ER_LOCK_DEADLOCK";
}

/** True for a duplicate primary or unique key. */
export function isDuplicateEntry(err: unknown): boolean {
  return codeOf(err) === "ER_DUP_ENTRY";
}

/** True when a foreign key names a parent row that does not exist. */
export function isMissingReferencedRow(err: unknown): boolean {
  const code = codeOf(err);
  return code === "ER_NO_REFERENCED_ROW" || code === "ER_NO_REFERENCED_ROW_2";
}

/**
 * Maps a mysql2 error to the SDK's errors: ER_DUP_ENTRY → ConflictError, a missing parent
 * row → the device is gone, a value longer than its column → ValidationError. Everything
 * else — ECONNREFUSED, ETIMEDOUT, PROTOCOL_CONNECTION_LOST, "Pool is closed", access denied,
 * lock wait timeouts — is StoreUnavailableError, with the driver error only as `cause`.
 */
export function mapMysqlError(err: unknown, onDuplicate: OnDuplicate = duplicateConflict): Error {
  if (isCloudError(err) || err instanceof SchemaTooNewError) return err;
  if (isDuplicateEntry(err)) {
    const message = err instanceof Error ? err.message : "";
    // "Duplicate entry 'x' for key 'uq_name'" (MySQL 8 prefixes the table: 'devices.PRIMARY').
    const key = /for key '(?:[^'.]*\.)?([^']*)'/.exec(message)?.[1];
    return onDuplicate(key === "PRIMARY" ? "primary" : "unique");
  }
  if (isMissingReferencedRow(err))
    return new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
  if (codeOf(err) === "ER_DATA_TOO_LONG")
    return new ValidationError("a value is longer than the database allows");
  return new StoreUnavailableError(err);
}
