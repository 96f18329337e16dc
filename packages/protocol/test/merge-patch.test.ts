import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyMergePatch, createMergePatch, isEmptyPatch, jsonEqual } from "../src/index.js";

// RFC 7396 Appendix A, every example, in order: [original, patch, result].
const APPENDIX_A: Array<[unknown, unknown, unknown]> = [
  [{ a: "b" }, { a: "c" }, { a: "c" }],
  [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
  [{ a: "b" }, { a: null }, {}],
  [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
  [{ a: ["b"] }, { a: "c" }, { a: "c" }],
  [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
  [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
  [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
  [
    ["a", "b"],
    ["c", "d"],
    ["c", "d"],
  ],
  [{ a: "b" }, ["c"], ["c"]],
  [{ a: "foo" }, null, null],
  [{ a: "foo" }, "bar", "bar"],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: "b", c: null }, { a: "b" }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe("applyMergePatch", () => {
  it.each(APPENDIX_A)("RFC 7396 Appendix A: %j + %j", (original, patch, result) => {
    expect(applyMergePatch(original, patch)).toEqual(result);
  });

  it("RFC 7396 §3 example", () => {
    const target = {
      title: "Goodbye!",
      author: { givenName: "John", familyName: "Doe" },
      tags: ["example", "sample"],
      content: "This will be unchanged",
    };
    const patch = {
      title: "Hello!",
      phoneNumber: "+01-123-456-7890",
      author: { familyName: null },
      tags: ["example"],
    };
    expect(applyMergePatch(target, patch)).toEqual({
      title: "Hello!",
      author: { givenName: "John" },
      tags: ["example"],
      content: "This will be unchanged",
      phoneNumber: "+01-123-456-7890",
    });
  });

  it("does not mutate its arguments", () => {
    const target = { a: { b: 1 }, list: [1] };
    const patch = { a: { c: 2 } };
    const result = applyMergePatch(target, patch) as { a: { b: number; c: number } };
    result.a.b = 99;
    expect(target).toEqual({ a: { b: 1 }, list: [1] });
    expect(patch).toEqual({ a: { c: 2 } });
  });

  it("keeps a hostile __proto__ key as data, never as a prototype", () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": {"__proto__": {"x": 1}}}');
    const result = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, "__proto__")).toBe(true);
    expect((result as { polluted?: unknown }).polluted).toBeUndefined();
    expect(jsonEqual(JSON.parse(JSON.stringify(result)), patch)).toBe(true);
  });
});

// JSON documents as state holds them: objects of values where nulls never appear in objects.
const doc = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ maxLength: 5 }),
    fc.integer(),
    fc.boolean(),
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
  ),
  object: fc.dictionary(fc.constantFrom("a", "b", "c", "d", "__proto__"), tie("value"), { maxKeys: 4 }),
})).object;

describe("createMergePatch", () => {
  it("produces a patch that turns source into target (10,000 pairs)", () => {
    fc.assert(
      fc.property(doc, doc, (source, target) => {
        const patch = createMergePatch(source, target);
        expect(jsonEqual(applyMergePatch(source, patch), target)).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it("is empty when nothing changed and minimal otherwise", () => {
    expect(isEmptyPatch(createMergePatch({ a: { b: [1, 2] } }, { a: { b: [1, 2] } }))).toBe(true);
    expect(createMergePatch({ a: 1, b: { c: 1, d: 2 } }, { b: { c: 1, d: 3 }, e: true })).toEqual({
      a: null,
      b: { d: 3 },
      e: true,
    });
    expect(isEmptyPatch({ a: null })).toBe(false);
    expect(isEmptyPatch([])).toBe(false);
  });

  it("documents the RFC's limit: a null member cannot be set, it comes out deleted", () => {
    const patch = createMergePatch({ a: 1 }, { a: null });
    expect(applyMergePatch({ a: 1 }, patch)).toEqual({});
  });
});
