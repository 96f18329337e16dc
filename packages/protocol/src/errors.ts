import type { CloseCode, ErrorCode } from "./codes.js";

/** The most `issues` an `invalid_pdu` error lists (docs/protocol.md §2.3, the `error` schema). */
export const MAX_ISSUES = 8;

/** Where in a PDU a schema violation was found. */
export interface ProtocolIssue {
  /** JSON Pointer to the offending value, "" for the PDU itself. */
  path: string;
  message: string;
}

export interface ProtocolErrorOptions {
  /** Close code to use when the violation makes the session unsafe; absent = answer with `error` and go on. */
  closeCode?: CloseCode;
  /** The `type` of the offending PDU, when it could be read. */
  pduType?: string;
  /** The `id` of the offending PDU (commands, acks, results), when it could be read. */
  ref?: string;
  issues?: ProtocolIssue[];
}

/**
 * The one error type of the protocol layer. `code` is stable (assert on it, not on the
 * message); messages never contain field values, so secrets cannot leak through them.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: ErrorCode;
  readonly closeCode: CloseCode | undefined;
  readonly pduType: string | undefined;
  readonly ref: string | undefined;
  readonly issues: readonly ProtocolIssue[];
  /** Protocol errors are safe to show to the peer. */
  readonly expose = true;

  constructor(code: ErrorCode, message: string, options: ProtocolErrorOptions = {}) {
    super(message);
    this.code = code;
    this.closeCode = options.closeCode;
    this.pduType = options.pduType;
    this.ref = options.ref;
    this.issues = options.issues ?? [];
  }

  /** The `error` PDU that reports this error to the peer. */
  toPdu(): {
    type: "error";
    code: ErrorCode;
    message: string;
    ref?: string;
    issues?: ProtocolIssue[];
  } {
    return {
      type: "error",
      code: this.code,
      message: this.message,
      ...(this.ref !== undefined ? { ref: this.ref } : {}),
      ...(this.issues.length > 0 ? { issues: [...this.issues] } : {}),
    };
  }
}

/** True for ProtocolError instances, also across bundle copies (duck-typed on name and code). */
export function isProtocolError(value: unknown): value is ProtocolError {
  return (
    value instanceof ProtocolError ||
    (typeof value === "object" &&
      value !== null &&
      (value as { name?: unknown }).name === "ProtocolError" &&
      typeof (value as { code?: unknown }).code === "string")
  );
}
