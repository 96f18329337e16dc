/**
 * JSON Merge Patch (RFC 7396), used by both sides for desired/reported state sync.
 * Values are plain JSON. Neither function mutates its arguments.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sets an own property even for keys like "__proto__", so hostile patches cannot reach a prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) setOwn(out, key, clone(value[key]));
    return out;
  }
  return value;
}

/**
 * RFC 7396 §2 MergePatch(Target, Patch): a non-object patch replaces the target; an object
 * patch merges key by key, `null` deleting a key; arrays are replaced, never merged.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const result: Record<string, unknown> = {};
  if (isPlainObject(target)) {
    for (const key of Object.keys(target)) setOwn(result, key, clone(target[key]));
  }
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) {
      delete result[key];
    } else {
      const current = Object.hasOwn(result, key) ? result[key] : undefined;
      setOwn(result, key, applyMergePatch(current, value));
    }
  }
  return result;
}

/** Deep equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

/**
 * The smallest merge patch that turns `source` into `target`: removed keys become `null`,
 * changed objects recurse, anything else is replaced. `applyMergePatch(source, patch)`
 * equals `target` whenever `target` holds no `null` inside objects — RFC 7396 cannot
 * express "set to null", so such keys come out deleted (docs/protocol.md §6.3).
 * Returns `{}` when nothing changed.
 */
export function createMergePatch(source: unknown, target: unknown): unknown {
  if (!isPlainObject(source) || !isPlainObject(target)) return clone(target);
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    if (!Object.hasOwn(target, key)) setOwn(patch, key, null);
  }
  for (const key of Object.keys(target)) {
    const to = target[key];
    if (!Object.hasOwn(source, key)) {
      setOwn(patch, key, isPlainObject(to) ? stripNulls(to) : clone(to));
      continue;
    }
    const from = source[key];
    if (jsonEqual(from, to)) continue;
    if (isPlainObject(from) && isPlainObject(to)) {
      setOwn(patch, key, createMergePatch(from, to));
    } else {
      setOwn(patch, key, isPlainObject(to) ? stripNulls(to) : clone(to));
    }
  }
  return patch;
}

/** A new object as `applyMergePatch({}, value)` would produce it: object members that are null dropped. */
function stripNulls(value: Record<string, unknown>): Record<string, unknown> {
  return applyMergePatch({}, value) as Record<string, unknown>;
}

/** True when a patch changes nothing (an empty object). */
export function isEmptyPatch(patch: unknown): boolean {
  return isPlainObject(patch) && Object.keys(patch).length === 0;
}
