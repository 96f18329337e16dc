import { DEFAULT_LIMITS, type DecodeLimits } from "./limits.js";

/**
 * Document limits (docs/protocol.md §2.2): the bounds every JSON document that travels in a
 * PDU — desired and reported state, status data, command params and results — must keep,
 * whichever way it comes in (REST or WebSocket). They are derived from the PDU limits so a
 * document the hub accepted always fits the PDU that carries it furthest, and the hub can
 * never be made to hold something it would refuse to send (issue #21.1).
 */

/** The structural bounds a value is checked against; the PDU limits and document limits both have them. */
export type StructureLimits = Pick<
  DecodeLimits,
  "maxDepth" | "maxStringLength" | "maxArrayLength" | "maxObjectKeys"
>;

export interface DocumentLimits extends StructureLimits {
  /** Largest document as JSON text, in UTF-8 bytes. */
  maxBytes: number;
}

/** Which limit a value broke: the name REST problems and docs use (`limit`). */
export type LimitName = "depth" | "keys" | "array_length" | "string_length" | "bytes";

/** The first limit a value breaks, and where. */
export interface LimitViolation {
  limit: LimitName;
  /** The limit's value. */
  max: number;
  /** JSON Pointer to the offending value (for a too-long key: to the object holding it). */
  path: string;
  /** Generic text; never echoes the value. */
  message: string;
}

/**
 * Levels of PDU around a document in the deepest carrier: `welcome` (1) → `desired` (2) →
 * `patch` (3, the document itself). So a document may nest `maxDepth - 2` levels.
 */
export const DOCUMENT_ENVELOPE_DEPTH = 2;
/** Frame bytes kept for the largest envelope (welcome: token, ids, times) beside its document. */
export const DOCUMENT_ENVELOPE_BYTES = 4096;

/** The document limits that fit PDUs under `pdu` limits. */
export function documentLimitsFor(pdu: DecodeLimits): DocumentLimits {
  return Object.freeze({
    maxDepth: Math.max(1, pdu.maxDepth - DOCUMENT_ENVELOPE_DEPTH),
    maxObjectKeys: pdu.maxObjectKeys,
    maxArrayLength: pdu.maxArrayLength,
    maxStringLength: pdu.maxStringLength,
    maxBytes: Math.max(1024, pdu.maxFrameBytes - DOCUMENT_ENVELOPE_BYTES),
  });
}

/** Depth 30, 1,000 keys, 10,000 elements, 65,536-unit strings, 258,048 bytes. */
export const DEFAULT_DOCUMENT_LIMITS: Readonly<DocumentLimits> = documentLimitsFor(DEFAULT_LIMITS);

/** The longest `path` an `error` PDU issue carries (ErrorPdu schema). */
const MAX_PATH = 1024;

const escapeToken = (key: string | number) => String(key).replace(/~/g, "~0").replace(/\//g, "~1");

/** The JSON Pointer of node `index` (+ an optional child key), read back along the parent links. */
function pointer(
  parents: number[],
  keys: Array<string | number>,
  index: number,
  child?: string | number,
): string {
  const tokens: string[] = child === undefined ? [] : [escapeToken(child)];
  for (let i = index; i > 0; i = parents[i] as number) tokens.push(escapeToken(keys[i] as string | number));
  const path = tokens.length === 0 ? "" : `/${tokens.reverse().join("/")}`;
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH - 1)}…` : path;
}

const MESSAGES: Record<Exclude<LimitName, "bytes">, (max: number) => string> = {
  depth: (max) => `nested deeper than ${max} levels`,
  keys: (max) => `an object has more than ${max} keys`,
  array_length: (max) => `an array has more than ${max} elements`,
  string_length: (max) => `a string or key is longer than ${max} characters`,
};

function violation(
  limit: Exclude<LimitName, "bytes">,
  max: number,
  path: string,
  prefix: string,
): LimitViolation {
  return { limit, max, path: prefix + path, message: MESSAGES[limit](max) };
}

/**
 * The first structural limit `value` breaks, or undefined. Iterative (an explicit queue, no
 * recursion): safe on input nested 100,000 deep, and it stops at the first violation, so a
 * hostile value costs at most `maxDepth` levels of work down any branch. Scalars do not
 * count towards depth; the value itself is depth 1 when it is an object or array. `prefix`
 * is put before every path (e.g. "/params").
 */
export function findLimitViolation(
  value: unknown,
  limits: StructureLimits,
  prefix = "",
): LimitViolation | undefined {
  const { maxDepth, maxObjectKeys, maxArrayLength, maxStringLength } = limits;
  if (typeof value === "string") {
    return value.length > maxStringLength
      ? violation("string_length", maxStringLength, "", prefix)
      : undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  if (maxDepth < 1) return violation("depth", maxDepth, "", prefix);
  // Breadth-first; parents and keys rebuild a path only when something is wrong.
  const walk: Walk = { nodes: [value], depths: [1], parents: [-1], keys: [""] };
  for (let i = 0; i < walk.nodes.length; i++) {
    const node = walk.nodes[i] as Record<string, unknown> | unknown[];
    const depth = walk.depths[i] as number;
    if (Array.isArray(node)) {
      if (node.length > maxArrayLength) {
        return violation("array_length", maxArrayLength, pointer(walk.parents, walk.keys, i), prefix);
      }
      for (let j = 0; j < node.length; j++) {
        const found = visit(walk, limits, i, depth, node[j], j, prefix);
        if (found) return found;
      }
      continue;
    }
    const names = Object.keys(node);
    if (names.length > maxObjectKeys) {
      return violation("keys", maxObjectKeys, pointer(walk.parents, walk.keys, i), prefix);
    }
    for (const name of names) {
      if (name.length > maxStringLength) {
        return violation("string_length", maxStringLength, pointer(walk.parents, walk.keys, i), prefix);
      }
      const found = visit(walk, limits, i, depth, node[name], name, prefix);
      if (found) return found;
    }
  }
  return undefined;
}

/** The containers found so far, with their depth and where they hang (index of parent, key). */
interface Walk {
  nodes: object[];
  depths: number[];
  parents: number[];
  keys: Array<string | number>;
}

/** Checks one member of container `i`: a string's length, or queues a container (bounded depth). */
function visit(
  walk: Walk,
  limits: StructureLimits,
  i: number,
  depth: number,
  item: unknown,
  key: string | number,
  prefix: string,
): LimitViolation | undefined {
  if (typeof item === "string") {
    return item.length > limits.maxStringLength
      ? violation("string_length", limits.maxStringLength, pointer(walk.parents, walk.keys, i, key), prefix)
      : undefined;
  }
  if (typeof item !== "object" || item === null) return undefined;
  if (depth + 1 > limits.maxDepth) {
    return violation("depth", limits.maxDepth, pointer(walk.parents, walk.keys, i, key), prefix);
  }
  walk.nodes.push(item);
  walk.depths.push(depth + 1);
  walk.parents.push(i);
  walk.keys.push(key);
  return undefined;
}

const encoder = new TextEncoder();

/**
 * The first document limit `value` breaks, or undefined: the structure first (so the byte
 * count, which serialises, only ever sees a bounded value), then the size as JSON.
 */
export function findDocumentViolation(
  value: unknown,
  limits: DocumentLimits,
  prefix = "",
): LimitViolation | undefined {
  const structural = findLimitViolation(value, limits, prefix);
  if (structural) return structural;
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  // Every UTF-16 unit is at most 3 UTF-8 bytes: only a long text needs counting.
  if (text.length * 3 <= limits.maxBytes || encoder.encode(text).byteLength <= limits.maxBytes)
    return undefined;
  return {
    limit: "bytes",
    max: limits.maxBytes,
    path: prefix,
    message: `larger than ${limits.maxBytes} bytes as JSON`,
  };
}
