/**
 * WebSocket close codes used by protocol v1 (docs/protocol.md §7). 1000–1015 are RFC 6455
 * codes; 4000–4999 are ours. Each entry says what it means and what a device should do next.
 */
export const CloseCode = {
  /** RFC 6455: normal closure, e.g. after a `bye` from the device. */
  NORMAL: 1000,
  /** RFC 6455: endpoint going away (process exit without a `bye`). */
  GOING_AWAY: 1001,
  /** RFC 6455: a text frame that is not valid UTF-8 (sent by the WebSocket layer itself). */
  INVALID_PAYLOAD: 1007,
  /** RFC 6455: a frame or message larger than the negotiated maximum. */
  MESSAGE_TOO_BIG: 1009,
  /** RFC 6455: the server hit an unexpected condition. */
  INTERNAL_ERROR: 1011,
  /** The peer sent something that cannot be part of a v1 session (bad JSON, limits, PDU out of order). */
  PROTOCOL_VIOLATION: 4000,
  /** The device's credentials (id/serial+model with secret) were rejected. */
  AUTH_FAILED: 4001,
  /** No `hello` arrived within the hello deadline (default 10 s). */
  HELLO_TIMEOUT: 4002,
  /** The device is disabled by an operator; reconnecting will fail until it is enabled. */
  DEVICE_DISABLED: 4003,
  /** A newer session of the same device authenticated; this one is superseded. */
  REPLACED: 4004,
  /** The hub heard nothing from the device for 2.5 heartbeat intervals. */
  HEARTBEAT_TIMEOUT: 4005,
  /** The device's credentials were revoked (secret rotated, device deleted): tokens and sessions die. */
  AUTH_REVOKED: 4006,
  /** None of the protocol versions offered in `hello` is spoken by the hub. */
  UNSUPPORTED_VERSION: 4007,
  /** The hub is over its handshake or session limit; the reason carries `retry-after=<ms>`. */
  TRY_LATER: 4008,
  /** The hub is shutting down; the reason carries `retry-after=<ms>` (a `bye` precedes it). */
  SERVER_SHUTDOWN: 4009,
  /** Too many failed authentications from this device or address; reason carries `retry-after=<ms>`. */
  RATE_LIMITED: 4010,
  /** The device did not read its socket: the hub's send buffer for it stayed above the bound. */
  BACKPRESSURE: 4011,
  /** The resume token is invalid or expired; reconnect at once with the secret. */
  TOKEN_REJECTED: 4012,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** How a device should react to a close code. */
export type ReconnectAdvice =
  | "reconnect" // ordinary backoff
  | "retry_after" // wait for the retry-after hint in the reason (jittered), then reconnect
  | "reauthenticate" // reconnect immediately with the secret instead of the token
  | "auth_backoff"; // credentials problem: long backoff, surface an event to the owner

/** One line per close code: its name, meaning and the advice for devices. */
export const CLOSE_CODES: Readonly<
  Record<CloseCode, { name: keyof typeof CloseCode; meaning: string; advice: ReconnectAdvice }>
> = {
  1000: { name: "NORMAL", meaning: "Normal closure.", advice: "reconnect" },
  1001: { name: "GOING_AWAY", meaning: "The endpoint is going away.", advice: "reconnect" },
  1007: { name: "INVALID_PAYLOAD", meaning: "A text frame was not valid UTF-8.", advice: "reconnect" },
  1009: {
    name: "MESSAGE_TOO_BIG",
    meaning: "A message exceeded the maximum frame size (default 256 KiB).",
    advice: "reconnect",
  },
  1011: { name: "INTERNAL_ERROR", meaning: "Unexpected server condition.", advice: "reconnect" },
  4000: {
    name: "PROTOCOL_VIOLATION",
    meaning: "Malformed input, a limit exceeded, or a PDU out of order; an `error` PDU says which.",
    advice: "reconnect",
  },
  4001: { name: "AUTH_FAILED", meaning: "Credentials were rejected.", advice: "auth_backoff" },
  4002: { name: "HELLO_TIMEOUT", meaning: "No `hello` within the hello deadline.", advice: "reconnect" },
  4003: {
    name: "DEVICE_DISABLED",
    meaning: "The device is disabled by an operator.",
    advice: "auth_backoff",
  },
  4004: { name: "REPLACED", meaning: "A newer session of this device took over.", advice: "reconnect" },
  4005: {
    name: "HEARTBEAT_TIMEOUT",
    meaning: "Nothing arrived for 2.5 heartbeat intervals.",
    advice: "reconnect",
  },
  4006: {
    name: "AUTH_REVOKED",
    meaning: "Credentials revoked (secret rotated or device deleted).",
    advice: "auth_backoff",
  },
  4007: {
    name: "UNSUPPORTED_VERSION",
    meaning: "No common protocol version.",
    advice: "auth_backoff",
  },
  4008: {
    name: "TRY_LATER",
    meaning: "Hub over its handshake or session limit; reason is `retry-after=<ms>`.",
    advice: "retry_after",
  },
  4009: {
    name: "SERVER_SHUTDOWN",
    meaning: "Hub shutting down; reason is `retry-after=<ms>`.",
    advice: "retry_after",
  },
  4010: {
    name: "RATE_LIMITED",
    meaning: "Too many failed authentications; reason is `retry-after=<ms>`.",
    advice: "retry_after",
  },
  4011: {
    name: "BACKPRESSURE",
    meaning: "The device did not read fast enough; its send buffer overflowed.",
    advice: "reconnect",
  },
  4012: {
    name: "TOKEN_REJECTED",
    meaning: "Resume token invalid or expired; reconnect with the secret.",
    advice: "reauthenticate",
  },
};

/**
 * Stable error codes. They appear in `error` PDUs, in `ProtocolError.code` and in the
 * `error.code` of failed command results. Devices must tolerate codes they do not know.
 */
export const ErrorCode = {
  // decode-level (docs/protocol.md §2)
  FRAME_TOO_LARGE: "frame_too_large",
  INVALID_UTF8: "invalid_utf8",
  INVALID_JSON: "invalid_json",
  NOT_AN_OBJECT: "not_an_object",
  TOO_DEEP: "too_deep",
  STRING_TOO_LONG: "string_too_long",
  ARRAY_TOO_LONG: "array_too_long",
  TOO_MANY_KEYS: "too_many_keys",
  UNKNOWN_TYPE: "unknown_type",
  INVALID_PDU: "invalid_pdu",
  UNEXPECTED_PDU: "unexpected_pdu",
  // session-level
  HELLO_REQUIRED: "hello_required",
  UNSUPPORTED_VERSION: "unsupported_version",
  AUTH_FAILED: "auth_failed",
  TOKEN_REJECTED: "token_rejected",
  RATE_LIMITED: "rate_limited",
  DEVICE_DISABLED: "device_disabled",
  TRY_LATER: "try_later",
  UNKNOWN_COMMAND: "unknown_command",
  STALE_VERSION: "stale_version",
  VERSION_GAP: "version_gap",
  INTERNAL_ERROR: "internal_error",
  QUOTA_EXCEEDED: "quota_exceeded",
  // command results reported by devices
  METHOD_NOT_FOUND: "method_not_found",
  INVALID_PARAMS: "invalid_params",
  EXEC_DENIED: "exec_denied",
  EXECUTOR_ERROR: "executor_error",
  TIMEOUT: "timeout",
  CANCELED: "canceled",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One line per error code. */
export const ERROR_CODES: Readonly<Record<ErrorCode, string>> = {
  frame_too_large: "The message is larger than the maximum frame size.",
  invalid_utf8: "A binary frame was not valid UTF-8.",
  invalid_json: "The message is not valid JSON.",
  not_an_object: "The message is valid JSON but not an object with a string `type`.",
  too_deep: "Objects/arrays are nested deeper than the limit (default 32).",
  string_too_long: "A string (value or key) is longer than the limit (default 65,536 characters).",
  array_too_long: "An array has more elements than the limit (default 10,000).",
  too_many_keys: "An object has more keys than the limit (default 1,000).",
  unknown_type: "The `type` is not a v1 PDU type; the PDU was ignored.",
  invalid_pdu:
    "The PDU does not match its schema, or a document in it breaks the document limits; `issues` say where.",
  unexpected_pdu: "A valid PDU that this side never receives, or not in this session state.",
  hello_required: "The first PDU of a session must be `hello`.",
  unsupported_version: "No protocol version in `hello.versions` is supported.",
  auth_failed: "Unknown device or wrong secret (deliberately not told apart).",
  token_rejected: "The resume token is invalid, expired or of an old credential generation.",
  rate_limited: "Too many failed authentications; wait `retryAfterMs`.",
  device_disabled: "The device is disabled.",
  try_later: "The hub is over capacity; wait `retryAfterMs`.",
  unknown_command: "An `ack` or `result` names a command id the hub does not know for this device.",
  stale_version: "A `reported` version not above the hub's current one; ignored.",
  version_gap: "A `reported` patch skips versions; ignored — send the whole document with `full`.",
  internal_error: "Unexpected failure on the hub; nothing about it is exposed.",
  quota_exceeded:
    "A per-device quota refused the PDU (status reports per minute, bytes per report); it was dropped. `retryAfterMs`: when the next report is accepted.",
  method_not_found: "The device has no executor for the command's method.",
  invalid_params: "The executor rejected the command's params.",
  exec_denied: "The command is not allowed by the device's allowlist.",
  executor_error: "The executor failed; `message` says how.",
  timeout: "The command's deadline passed before it finished.",
  canceled: "The command was canceled.",
};

/** Formats the close reason for codes that carry a retry-after hint (TRY_LATER, SERVER_SHUTDOWN, RATE_LIMITED). */
export function formatRetryAfter(retryAfterMs: number): string {
  return `retry-after=${Math.max(0, Math.round(retryAfterMs))}`;
}

/** Reads `retry-after=<ms>` from a close reason; undefined when absent or malformed. */
export function parseRetryAfter(reason: string | undefined | null): number | undefined {
  if (!reason) return undefined;
  const match = /(?:^|[;\s])retry-after=(\d{1,10})(?:$|[;\s])/.exec(reason);
  return match ? Number(match[1]) : undefined;
}
