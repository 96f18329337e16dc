/** Stable codes of errors the edge SDK raises locally (events, thrown errors). */
export const EdgeErrorCode = {
  /** Neither a usable token nor a secret is configured. */
  NO_CREDENTIALS: "no_credentials",
  /** A PDU could not be encoded (too large, or it breaks its schema). */
  ENCODE_FAILED: "encode_failed",
  /** The storage backend failed to read or write. */
  STORAGE_FAILED: "storage_failed",
  /** A collector produced data the status schema rejects. */
  INVALID_STATUS: "invalid_status",
  /** A desired-state handler threw. */
  DESIRED_HANDLER_FAILED: "desired_handler_failed",
  /** The WebSocket reported an error. */
  SOCKET_ERROR: "socket_error",
  /** The client was closed. */
  CLOSED: "closed",
} as const;
/** One of EdgeErrorCode's values. */
export type EdgeErrorCode = (typeof EdgeErrorCode)[keyof typeof EdgeErrorCode];

/** The one local error type of the edge SDK; assert on `code`, not on the message. */
export class EdgeError extends Error {
  override readonly name = "EdgeError";
  constructor(
    readonly code: EdgeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

const ERROR_CODE_PATTERN = /^[a-z][a-z0-9_.]{0,63}$/;

/**
 * What an executor throws to fail a command with a specific `result.error.code`
 * (docs/protocol.md §8: `invalid_params`, `exec_denied`, or a method-specific code such
 * as `logs.sftp_auth`). Any other thrown error becomes `executor_error`.
 */
export class ExecutorError extends Error {
  override readonly name = "ExecutorError";
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    if (!ERROR_CODE_PATTERN.test(code)) throw new TypeError(`invalid error code: ${code}`);
  }
}

/** True when `code` is a valid protocol error code (pattern of docs/protocol.md §3). */
export function isErrorCode(code: unknown): code is string {
  return typeof code === "string" && ERROR_CODE_PATTERN.test(code);
}
