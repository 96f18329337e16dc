import { type DecodeLimits, type DocumentLimits, encode } from "@cloudedge/protocol";
import { assertDocumentLimits, ValidationError } from "../errors.js";

/** Default and most a command's `timeoutMs` may be: one day (400 beyond). */
export const MAX_COMMAND_TIMEOUT_MS = 86_400_000;
/** Default and most a command's `ttlMs` may be: 30 days (400 beyond); beyond 2^31 ms, timers are chunked. */
export const MAX_COMMAND_TTL_MS = 30 * 86_400_000;

/** The bounds a new command is checked against. */
export interface CommandBounds {
  maxTimeoutMs: number;
  maxTtlMs: number;
  /** The hub's protocol limits: the cmd PDU must be one the device accepts. */
  limits: DecodeLimits;
  /** The hub's document limits, which params keep (docs/protocol.md §2.2). */
  documents: DocumentLimits;
}

/** Throws ValidationError, with one entry per bad field, unless the command can be sent as given. */
export function validateCommand(
  method: string,
  params: unknown,
  timeoutMs: number,
  ttlMs: number | undefined,
  bounds: CommandBounds,
): void {
  // First, and iterative: nothing below walks a params value nested 20,000 deep.
  assertDocumentLimits(params, bounds.documents, "/params", "params");
  const fields: Array<{ path: string; message: string }> = [];
  const { maxTimeoutMs, maxTtlMs } = bounds;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > maxTimeoutMs) {
    fields.push({ path: "/timeoutMs", message: `must be an integer in 1..${maxTimeoutMs}` });
  }
  if (ttlMs !== undefined && (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > maxTtlMs)) {
    fields.push({ path: "/ttlMs", message: `must be an integer in 1..${maxTtlMs}` });
  }
  if (fields.length === 0) fields.push(...frameIssues(method, params, timeoutMs, bounds.limits));
  if (fields.length > 0) throw new ValidationError("invalid command", fields);
}

/** What keeps the cmd PDU this command becomes from passing the protocol (method syntax, frame size). */
function frameIssues(
  method: string,
  params: unknown,
  timeoutMs: number,
  limits: DecodeLimits,
): Array<{ path: string; message: string }> {
  try {
    encode(
      {
        type: "cmd",
        id: "probe",
        method,
        ...(params !== undefined && params !== null ? { params } : {}),
        deadline: 0,
        timeoutMs,
      },
      { limits },
    );
    return [];
  } catch (error) {
    const issues = (error as { issues?: Array<{ path: string; message: string }> }).issues ?? [];
    const code = (error as { code?: string }).code;
    if (code === "frame_too_large") return [{ path: "/params", message: "too large for one frame" }];
    if (issues.length > 0) return issues.map((i) => ({ path: i.path, message: i.message }));
    return [{ path: "/params", message: "not valid JSON within the protocol limits" }];
  }
}
