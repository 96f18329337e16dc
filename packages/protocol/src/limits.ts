/** Limits enforced by `decode` before schema validation (docs/protocol.md §2.2). */
export interface DecodeLimits {
  /** Maximum message size in UTF-8 bytes. Default 256 KiB. */
  maxFrameBytes: number;
  /** Maximum nesting of objects/arrays; the PDU object itself is depth 1. Default 32. */
  maxDepth: number;
  /** Maximum length of any string, keys included, in UTF-16 code units. Default 65,536. */
  maxStringLength: number;
  /** Maximum number of elements of any array. Default 10,000. */
  maxArrayLength: number;
  /** Maximum number of keys of any object. Default 1,000. */
  maxObjectKeys: number;
}

export const DEFAULT_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxFrameBytes: 256 * 1024,
  maxDepth: 32,
  maxStringLength: 65_536,
  maxArrayLength: 10_000,
  maxObjectKeys: 1_000,
});

/** Limits objects this module produced: passing one back (the hub does, per message) costs nothing. */
const resolved = new WeakSet<object>([DEFAULT_LIMITS]);

/** Merges partial limits over the defaults, rejecting nonsense values early. */
export function resolveLimits(partial: Partial<DecodeLimits> | undefined): DecodeLimits {
  if (!partial) return DEFAULT_LIMITS;
  if (resolved.has(partial)) return partial as DecodeLimits;
  const limits = Object.freeze({ ...DEFAULT_LIMITS, ...partial });
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`DecodeLimits.${key} must be a positive integer`);
    }
  }
  resolved.add(limits);
  return limits;
}
