import { CloseCode, ErrorCode } from "./codes.js";
import { type DocumentLimits, findLimitViolation, type LimitName } from "./document-limits.js";
import { ProtocolError, type ProtocolIssue } from "./errors.js";
import { type DecodeLimits, resolveLimits } from "./limits.js";
import { documentLimitError } from "./pdu-documents.js";
import { PDU_SCHEMAS, type Pdu, type PduType, REFINEMENTS, type Sender } from "./pdus.js";
import { createValidator, type Validator } from "./validator.js";

/** What `decode` returns: a typed PDU, or the reason it was rejected. It never throws. */
export type DecodeResult<P extends Pdu = Pdu> = { ok: true; pdu: P } | { ok: false; error: ProtocolError };

export interface CodecOptions {
  /** Limits; defaults in DEFAULT_LIMITS. */
  limits?: Partial<DecodeLimits>;
  /**
   * Document limits to hold the documents a PDU carries to (state patches, status data,
   * params, results): beyond them `invalid_pdu` naming the limit, the session going on.
   */
  documents?: DocumentLimits;
}

export interface DecodeOptions extends CodecOptions {
  /** Who sent the input: PDUs that side never sends are rejected with `unexpected_pdu`. */
  from?: Sender;
}

const validators = new Map<string, Validator>(
  Object.entries(PDU_SCHEMAS).map(([type, def]) => [type, createValidator(def.schema)]),
);

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** UTF-8 length of a string without allocating, stopping once it passes `max`. */
function utf8LengthExceeds(text: string, max: number): boolean {
  if (text.length > max) return true; // every UTF-16 unit is at least one byte
  if (text.length * 3 <= max) return false; // every UTF-16 unit is at most three bytes
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
    if (bytes > max) return true;
  }
  return false;
}

const unsafe = (code: ErrorCode, message: string, closeCode: CloseCode = CloseCode.PROTOCOL_VIOLATION) =>
  new ProtocolError(code, message, { closeCode });

const LIMIT_CODES: Record<Exclude<LimitName, "bytes">, ErrorCode> = {
  depth: ErrorCode.TOO_DEEP,
  keys: ErrorCode.TOO_MANY_KEYS,
  array_length: ErrorCode.ARRAY_TOO_LONG,
  string_length: ErrorCode.STRING_TOO_LONG,
};

/** The first PDU limit a parsed value breaks (iterative: see findLimitViolation). */
function checkLimits(value: unknown, limits: DecodeLimits): ProtocolError | undefined {
  const found = findLimitViolation(value, limits);
  if (!found) return undefined;
  return unsafe(LIMIT_CODES[found.limit as Exclude<LimitName, "bytes">], found.message);
}

function readRef(value: Record<string, unknown>): string | undefined {
  const id = value["id"];
  return typeof id === "string" && id.length >= 1 && id.length <= 64 ? id : undefined;
}

/**
 * Decodes one WebSocket message into a v1 PDU (docs/protocol.md §2). Text and binary
 * frames are both accepted (binary must be UTF-8). Never throws: any input yields either
 * `{ok: true, pdu}` or `{ok: false, error}` where `error.code` is stable and
 * `error.closeCode` is set when the session cannot safely go on.
 */
export function decode(input: string | Uint8Array | ArrayBuffer, options: DecodeOptions = {}): DecodeResult {
  try {
    return decodeUnsafe(input, options);
  } catch (cause) {
    // Only reachable through a bug or a hostile environment (e.g. a patched prototype).
    const error = new ProtocolError(ErrorCode.INTERNAL_ERROR, "decoder failure", {
      closeCode: CloseCode.INTERNAL_ERROR,
    });
    (error as { cause?: unknown }).cause = cause;
    return { ok: false, error };
  }
}

function decodeUnsafe(input: string | Uint8Array | ArrayBuffer, options: DecodeOptions): DecodeResult {
  const limits = resolveLimits(options.limits);
  let text: string;
  if (typeof input === "string") {
    if (utf8LengthExceeds(input, limits.maxFrameBytes)) {
      return { ok: false, error: tooLarge(limits) };
    }
    text = input;
  } else {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    if (bytes.byteLength > limits.maxFrameBytes) return { ok: false, error: tooLarge(limits) };
    try {
      text = utf8Decoder.decode(bytes);
    } catch {
      return { ok: false, error: unsafe(ErrorCode.INVALID_UTF8, "binary frame is not valid UTF-8") };
    }
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: unsafe(ErrorCode.INVALID_JSON, "message is not valid JSON") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: unsafe(ErrorCode.NOT_AN_OBJECT, "a PDU must be a JSON object") };
  }
  const result = validateObject(value as Record<string, unknown>, limits, options.from);
  if (!result.ok || !options.documents) return result;
  const documentError = documentLimitError(result.pdu, options.documents);
  return documentError ? { ok: false, error: documentError } : result;
}

/** Limits, `type`, schema, cross-field rules and direction of an already-parsed object. */
function validateObject(
  object: Record<string, unknown>,
  limits: DecodeLimits,
  from: Sender | undefined,
): DecodeResult {
  const limitError = checkLimits(object, limits);
  if (limitError) return { ok: false, error: limitError };

  const type = object["type"];
  if (typeof type !== "string") {
    return { ok: false, error: unsafe(ErrorCode.NOT_AN_OBJECT, "a PDU must have a string `type`") };
  }
  const ref = readRef(object);
  const validator = Object.hasOwn(PDU_SCHEMAS, type) ? validators.get(type) : undefined;
  if (!validator) {
    // Not unsafe: a newer peer may speak types we do not know; we say so and carry on.
    return { ok: false, error: new ProtocolError(ErrorCode.UNKNOWN_TYPE, "unknown PDU type", { ref }) };
  }
  const pduType = type as PduType;
  const invalid = (issues: ProtocolIssue[]) => ({
    ok: false as const,
    error: new ProtocolError(ErrorCode.INVALID_PDU, `invalid ${pduType} PDU`, { pduType, ref, issues }),
  });
  if (!validator.check(object)) return invalid(validator.issues(object));
  const refine = REFINEMENTS[pduType] as ((pdu: Pdu) => string | undefined) | undefined;
  const refinement = refine?.(object as unknown as Pdu);
  if (refinement) return invalid([{ path: "", message: refinement }]);
  if (from && !(PDU_SCHEMAS[pduType].senders as readonly Sender[]).includes(from)) {
    return {
      ok: false,
      error: new ProtocolError(ErrorCode.UNEXPECTED_PDU, `a ${from} never sends ${pduType}`, {
        pduType,
        ref,
      }),
    };
  }
  return { ok: true, pdu: object as unknown as Pdu };
}

function tooLarge(limits: DecodeLimits): ProtocolError {
  return unsafe(
    ErrorCode.FRAME_TOO_LARGE,
    `message larger than ${limits.maxFrameBytes} bytes`,
    CloseCode.MESSAGE_TOO_BIG,
  );
}

/**
 * Validates a PDU and serialises it to the JSON text of one WebSocket message. Throws a
 * ProtocolError (`invalid_pdu`, `frame_too_large`) when the PDU would be rejected by the
 * peer: a bug on the sending side must fail loudly here, not remotely.
 */
export function encode(pdu: Pdu, options: CodecOptions = {}): string {
  const limits = resolveLimits(options.limits);
  if (typeof pdu !== "object" || pdu === null || Array.isArray(pdu)) {
    throw unsafe(ErrorCode.NOT_AN_OBJECT, "a PDU must be a JSON object");
  }
  const result = validateObject(pdu as unknown as Record<string, unknown>, limits, undefined);
  if (!result.ok) throw result.error;
  const documentError = options.documents && documentLimitError(pdu, options.documents);
  if (documentError) throw documentError;
  const text = JSON.stringify(pdu);
  if (utf8LengthExceeds(text, limits.maxFrameBytes)) throw tooLarge(limits);
  return text;
}

/** Like `encode`, as UTF-8 bytes. */
export function encodeBytes(pdu: Pdu, options: CodecOptions = {}): Uint8Array {
  return utf8Encoder.encode(encode(pdu, options));
}

/** Checks a value against one PDU schema (and its cross-field rules), without limits or parsing. */
export function isPdu<T extends PduType>(type: T, value: unknown): value is Extract<Pdu, { type: T }> {
  const validator = validators.get(type);
  if (!validator?.check(value)) return false;
  const refine = REFINEMENTS[type] as ((pdu: Pdu) => string | undefined) | undefined;
  return refine?.(value as Pdu) === undefined;
}
