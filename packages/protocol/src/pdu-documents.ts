import { ErrorCode } from "./codes.js";
import { type DocumentLimits, findLimitViolation, type LimitViolation } from "./document-limits.js";
import { ProtocolError } from "./errors.js";
import type { Pdu, PduType } from "./pdus.js";

type Part = [path: string, value: unknown];

/** The JSON documents each PDU type carries (docs/protocol.md §2.2), as [JSON Pointer, value]. */
const DOCUMENTS: Partial<Record<PduType, (pdu: Record<string, unknown>) => Part[]>> = {
  status: (pdu) => [["/data", pdu["data"]]],
  reported: (pdu) => [["/patch", pdu["patch"]]],
  desired: (pdu) => [["/patch", pdu["patch"]]],
  welcome: (pdu) => [["/desired/patch", (pdu["desired"] as { patch?: unknown } | undefined)?.patch]],
  cmd: (pdu) => [["/params", pdu["params"]]],
  result: (pdu) => [
    ["/data", pdu["data"]],
    ["/error/details", (pdu["error"] as { details?: unknown } | undefined)?.details],
  ],
};

/**
 * The `invalid_pdu` error for a schema-valid PDU whose documents break the document
 * limits' structure (depth, keys, array length, string length), or undefined. Bytes are not
 * counted here: the frame limit already bounds them. Not unsafe: the PDU is ignored and the
 * session goes on.
 */
export function documentLimitError(pdu: Pdu, limits: DocumentLimits): ProtocolError | undefined {
  const parts = DOCUMENTS[pdu.type]?.(pdu as unknown as Record<string, unknown>) ?? [];
  for (const [path, value] of parts) {
    const found = findLimitViolation(value, limits, path);
    if (!found) continue;
    const ref = (pdu as { id?: unknown }).id;
    return documentViolationError(found, `${pdu.type} breaks the document limits (${found.limit})`, {
      pduType: pdu.type,
      ...(typeof ref === "string" ? { ref } : {}),
    });
  }
  return undefined;
}

/** The `invalid_pdu` error for a document limit violation: one issue, its message naming the limit. */
export function documentViolationError(
  found: LimitViolation,
  message: string,
  options: { pduType?: string; ref?: string } = {},
): ProtocolError {
  return new ProtocolError(ErrorCode.INVALID_PDU, message, {
    ...options,
    issues: [{ path: found.path, message: `${found.message} (document limit: ${found.limit})` }],
  });
}
