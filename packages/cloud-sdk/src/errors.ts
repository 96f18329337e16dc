import { type DocumentLimits, findDocumentViolation, type LimitViolation } from "@cloudedge/protocol";

/**
 * The one error type of the cloud SDK. `code` is stable (assert on it), `status` is the
 * HTTP status the REST layer maps it to, `expose` says whether the message may be shown
 * to a caller. Messages never contain secrets, tokens or hashes.
 */
export class CloudError extends Error {
  override readonly name: string = "CloudError";
  constructor(
    readonly code: CloudErrorCode,
    message: string,
    readonly status: number,
    readonly expose = true,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const CloudErrorCode = {
  NOT_FOUND: "not_found",
  DEVICE_NOT_FOUND: "device_not_found",
  COMMAND_NOT_FOUND: "command_not_found",
  NO_STATUS: "no_status",
  GROUP_NOT_FOUND: "group_not_found",
  CONFLICT: "conflict",
  DEVICE_EXISTS: "device_exists",
  VALIDATION: "validation_failed",
  DOCUMENT_LIMIT: "document_limit",
  VERSION_MISMATCH: "version_mismatch",
  DEVICE_OFFLINE: "device_offline",
  DEVICE_DISABLED: "device_disabled",
  DELIVERY_TIMEOUT: "delivery_timeout",
  RESULT_TIMEOUT: "result_timeout",
  COMMAND_EXPIRED: "command_expired",
  COMMAND_CANCELED: "command_canceled",
  NOT_CANCELABLE: "not_cancelable",
  DEVICE_ERROR: "device_error",
  STORE_UNAVAILABLE: "store_unavailable",
  CLUSTER_UNAVAILABLE: "cluster_unavailable",
  DRIVER_MISSING: "driver_missing",
  SHUTTING_DOWN: "shutting_down",
  QUEUE_FULL: "queue_full",
  INVALID_SELECTOR: "invalid_selector",
  UNKNOWN_TARGET: "unknown_target",
  EMPTY_TARGET_SET: "empty_target_set",
  INVALID_ROLLOUT: "invalid_rollout",
  JOB_NOT_FOUND: "job_not_found",
  JOB_FINISHED: "job_finished",
  JOB_NOT_PAUSED: "job_not_paused",
} as const;
export type CloudErrorCode = (typeof CloudErrorCode)[keyof typeof CloudErrorCode];

export class NotFoundError extends CloudError {
  override readonly name = "NotFoundError";
  constructor(code: CloudErrorCode = CloudErrorCode.NOT_FOUND, message = "not found") {
    super(code, message, 404);
  }
}

/** A uniqueness rule was broken, e.g. the (serialNumber, model) pair or a group name is taken. */
export class ConflictError extends CloudError {
  override readonly name = "ConflictError";
  constructor(code: CloudErrorCode = CloudErrorCode.CONFLICT, message = "conflict") {
    super(code, message, 409);
  }
}

/** Input that breaks a documented rule; `details.fields` lists which. */
export class ValidationError extends CloudError {
  override readonly name = "ValidationError";
  constructor(message: string, fields: Array<{ path: string; message: string }> = []) {
    super(CloudErrorCode.VALIDATION, message, 400, true, { fields });
  }
}

/**
 * A JSON document (state, params, a request body) breaks a document limit (docs/protocol.md
 * §2.2): `details.limit` names it (depth, keys, array_length, string_length, bytes),
 * `details.max` is its value and `details.fields` says where.
 */
export class DocumentLimitError extends CloudError {
  override readonly name = "DocumentLimitError";
  constructor(violation: LimitViolation, what = "the document") {
    super(
      CloudErrorCode.DOCUMENT_LIMIT,
      `${what} breaks the ${violation.limit} limit: ${violation.message}`,
      400,
      true,
      {
        limit: violation.limit,
        max: violation.max,
        fields: [{ path: violation.path, message: violation.message }],
      },
    );
  }
}

/** Throws DocumentLimitError unless `value` keeps `limits`; paths start with `prefix`. */
export function assertDocumentLimits(
  value: unknown,
  limits: DocumentLimits,
  prefix = "",
  what?: string,
): void {
  const violation = findDocumentViolation(value, limits, prefix);
  if (violation) throw new DocumentLimitError(violation, what);
}

/** The store cannot be reached or failed unexpectedly; nothing about its internals is exposed. */
export class StoreUnavailableError extends CloudError {
  override readonly name = "StoreUnavailableError";
  constructor(cause?: unknown) {
    super(CloudErrorCode.STORE_UNAVAILABLE, "the database is unavailable", 503);
    (this as { cause?: unknown }).cause = cause;
  }
}

/**
 * A store or bus URL asks for a driver whose optional peer package is not installed (the
 * SDK keeps better-sqlite3, mysql2 and nats optional); the message names what to install.
 */
export class DriverMissingError extends CloudError {
  override readonly name = "DriverMissingError";
  constructor(
    readonly packageName: string,
    cause?: unknown,
  ) {
    super(
      CloudErrorCode.DRIVER_MISSING,
      `the optional package ${packageName} is not installed; install it with: npm i ${packageName}`,
      500,
      false,
      { package: packageName },
    );
    (this as { cause?: unknown }).cause = cause;
  }
}

export function isCloudError(value: unknown): value is CloudError {
  return value instanceof CloudError;
}
