import assert from "node:assert/strict";

/**
 * The two checks `node:assert` lacks that the suites use: a subset match (as vitest's
 * `toMatchObject`) and `instanceof` with a message that names both types.
 */

/**
 * Asserts that `actual` has every property of `expected`, recursively: objects may hold
 * more keys than expected; arrays must have the same length and match element by element;
 * anything else must be deep-strict-equal.
 */
export function assertMatches(actual: unknown, expected: unknown, path = "value"): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${show(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: expected ${expected.length} items`);
    for (const [i, item] of expected.entries()) assertMatches(actual[i], item, `${path}[${i}]`);
  } else if (isPlainObject(expected)) {
    assert.ok(
      typeof actual === "object" && actual !== null,
      `${path}: expected an object, got ${show(actual)}`,
    );
    for (const [key, value] of Object.entries(expected)) {
      assertMatches((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
  } else {
    assert.deepStrictEqual(actual, expected, `${path}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** Asserts `value instanceof type` (an error class, typically). */
export function assertInstanceOf<T>(
  value: unknown,
  type: abstract new (...args: never[]) => T,
): asserts value is T {
  assert.ok(value instanceof type, `expected an instance of ${type.name}, got ${show(value)}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value)
    );
  } catch {
    return String(value);
  }
}
