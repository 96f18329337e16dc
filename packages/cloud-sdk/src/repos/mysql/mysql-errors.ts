import {
  type CloudError,
  CloudErrorCode,
  ConflictError,
  isCloudError,
  NotFoundError,
  StoreUnavailableError,
  ValidationError,
} from "../../errors.js";
import { SchemaTooNewError } from "../sql/migration.js";

/** Decides which ConflictError a duplicate-key error is; gets the index name (never shown to callers). */
export type OnDuplicate = (key: string) => CloudError;

const defaultDuplicate: OnDuplicate = () => new ConflictError(CloudErrorCode.CONFLICT, "already exists");

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** True for the errors after which a retry of the whole transaction may succeed. */
export function isDeadlock(err: unknown): boolean {
  return codeOf(err) === "ER_LOCK_DEADLOCK";
}

/**
 * Maps a mysql2 error to the SDK's errors: ER_DUP_ENTRY → ConflictError, a missing parent
 * row → the device is gone, a value longer than its column → ValidationError. Everything
 * else — ECONNREFUSED, ETIMEDOUT, PROTOCOL_CONNECTION_LOST, "Pool is closed", access denied,
 * lock wait timeouts — is StoreUnavailableError, with the driver error only as `cause`.
 */
export function mapMysqlError(err: unknown, onDuplicate: OnDuplicate = defaultDuplicate): Error {
  if (isCloudError(err) || err instanceof SchemaTooNewError) return err;
  switch (codeOf(err)) {
    case "ER_DUP_ENTRY": {
      const message = err instanceof Error ? err.message : "";
      // "Duplicate entry 'x' for key 'uq_name'" (MySQL 8 prefixes the table: 'devices.uq_name').
      const key = /for key '(?:[^'.]*\.)?([^']*)'/.exec(message)?.[1] ?? "";
      return onDuplicate(key);
    }
    case "ER_NO_REFERENCED_ROW":
    case "ER_NO_REFERENCED_ROW_2":
      return new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
    case "ER_DATA_TOO_LONG":
      return new ValidationError("a value is longer than the database allows");
    default:
      return new StoreUnavailableError(err);
  }
}
