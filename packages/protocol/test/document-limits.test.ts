import { describe, expect, it, vi } from "vitest";
import {
  clearLongTimeout,
  DEFAULT_DOCUMENT_LIMITS,
  DEFAULT_LIMITS,
  decode,
  documentLimitsFor,
  ErrorCode,
  encode,
  findDocumentViolation,
  findLimitViolation,
  type LimitName,
  MAX_ISSUES,
  MAX_TIMER_MS,
  PDU_SCHEMAS,
  setLongTimeout,
} from "../src/index.js";

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
const limits = DEFAULT_DOCUMENT_LIMITS;

describe("document limits", () => {
  it("are derived from the PDU limits so a document fits the deepest carrier (welcome.desired.patch)", () => {
    expect(limits).toMatchObject({
      maxDepth: DEFAULT_LIMITS.maxDepth - 2,
      maxObjectKeys: 1_000,
      maxArrayLength: 10_000,
      maxStringLength: 65_536,
      maxBytes: DEFAULT_LIMITS.maxFrameBytes - 4096,
    });
    expect(documentLimitsFor({ ...DEFAULT_LIMITS, maxDepth: 10 }).maxDepth).toBe(8);
  });

  type Case = [name: string, value: unknown, limit: LimitName | undefined, path?: string];
  const CASES: Case[] = [
    ["a scalar", 5, undefined],
    ["exactly the depth", nested(30), undefined],
    ["one level too deep", nested(31), "depth", `/${Array(30).fill("a").join("/")}`],
    ["20,000 levels", nested(20_000), "depth"],
    ["arrays nested too deep", JSON.parse(`${"[".repeat(31)}${"]".repeat(31)}`), "depth"],
    ["exactly 10,000 elements", new Array(10_000).fill(0), undefined],
    ["10,001 elements", { list: new Array(10_001).fill(0) }, "array_length", "/list"],
    ["1,001 keys", Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])), "keys", ""],
    ["a long string in an array", { a: [1, "x".repeat(65_537)] }, "string_length", "/a/1"],
    ["a long key", { a: { ["k".repeat(65_537)]: 1 } }, "string_length", "/a"],
    ["a long top-level string", "x".repeat(65_537), "string_length", ""],
    ["pointer escaping", { "a/b": { "c~d": nested(29) } }, "depth"],
    ["bytes", { s: "é".repeat(60_000), t: "é".repeat(60_000), u: "é".repeat(20_000) }, "bytes", ""],
    ["__proto__ is just a key", JSON.parse('{"__proto__":{"x":1}}'), undefined],
  ];

  it.each(CASES)("%s", (_name, value, limit, path) => {
    const found = findDocumentViolation(value, limits);
    expect(found?.limit).toBe(limit);
    if (path !== undefined) expect(found?.path).toBe(path);
  });

  it("escapes JSON Pointer tokens and puts the prefix first", () => {
    const found = findLimitViolation(
      { "a/b": { "c~d": [1, 2, 3] } },
      { ...limits, maxArrayLength: 2 },
      "/params",
    );
    expect(found).toMatchObject({ limit: "array_length", max: 2, path: "/params/a~1b/c~0d" });
  });

  it("keeps paths short enough for an error PDU", () => {
    const key = "k".repeat(2000);
    const found = findLimitViolation({ [key]: nested(40) }, limits);
    expect(found?.path.length).toBeLessThanOrEqual(1024);
  });
});

describe("documents in PDUs", () => {
  const documents = DEFAULT_DOCUMENT_LIMITS;
  const json = JSON.stringify;
  type Case = [name: string, pdu: Record<string, unknown>, path: string, limit: LimitName];
  const list = [1, 2, 3];
  const CASES: Case[] = [
    ["reported patch", { type: "reported", version: 1, patch: nested(31) }, "/patch", "depth"],
    ["status data", { type: "status", ts: 1, data: { extra: nested(30) } }, "/data", "depth"],
    ["result data", { type: "result", id: "c1", ok: true, data: nested(31) }, "/data", "depth"],
    [
      "result error details",
      { type: "result", id: "c1", ok: false, error: { code: "x", message: "m", details: { list } } },
      "/error/details/list",
      "array_length",
    ],
  ];
  it.each(CASES)(
    "%s beyond the document limits: invalid_pdu naming the limit, no close",
    (_n, pdu, path, limit) => {
      const small = limit === "depth" ? documents : { ...documents, maxArrayLength: 2 };
      const result = decode(json(pdu), { from: "device", documents: small });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe(ErrorCode.INVALID_PDU);
      expect(result.error.closeCode).toBeUndefined();
      expect(result.error.issues[0]?.path.startsWith(path)).toBe(true);
      expect(result.error.issues[0]?.message).toContain(`document limit: ${limit}`);
      // Without document limits the same PDU is within the PDU limits.
      expect(decode(json(pdu), { from: "device" }).ok).toBe(true);
      // The error PDU itself is sendable.
      expect(() => encode(result.error.toPdu())).not.toThrow();
    },
  );

  it("a result carries its id as ref", () => {
    const result = decode(
      json({ type: "result", id: "c9", ok: true, data: { list: new Array(20).fill(0) } }),
      {
        documents: { ...documents, maxArrayLength: 10 },
      },
    );
    expect(!result.ok && result.error.ref).toBe("c9");
  });

  it("encode refuses what the peer would refuse", () => {
    const pdu = { type: "desired" as const, version: 1, patch: nested(31) as Record<string, unknown> };
    expect(() => encode(pdu, { documents })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_PDU }),
    );
    const fits = { type: "welcome", desired: { version: 1, patch: nested(30), full: true } };
    expect(findLimitViolation(fits, DEFAULT_LIMITS)).toBeUndefined();
  });

  it("a document 20,000 deep in a PDU is refused by the PDU limits, without recursion", () => {
    const deep = `${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`;
    const result = decode(`{"type":"reported","version":1,"patch":${deep}}`);
    expect(!result.ok && result.error.code).toBe(ErrorCode.TOO_DEEP);
  });

  it("invalid_pdu lists at most MAX_ISSUES issues, as the error schema allows", () => {
    const bad = {
      type: "hello",
      versions: ["a", "b"],
      agent: 1,
      bootId: 2,
      desiredVersion: "x",
      secret: 3,
      deviceId: 4,
    };
    const result = decode(json(bad));
    expect(!result.ok && result.error.issues.length).toBeLessThanOrEqual(MAX_ISSUES);
    const schema = PDU_SCHEMAS.error.schema as { properties: { issues: { maxItems: number } } };
    expect(schema.properties.issues.maxItems).toBe(MAX_ISSUES);
  });
});

describe("welcome.desired is not a desired PDU (§6.3)", () => {
  it("welcome.desired.version may be 0; a desired PDU's may not", () => {
    const welcome = {
      type: "welcome",
      version: 1,
      sessionId: "s",
      deviceId: "1",
      heartbeatMs: 30_000,
      token: "t",
      tokenExpiresAt: 1,
      serverTime: 1,
      maxFrameBytes: 262_144,
      reportedVersion: 0,
      desired: { version: 0, patch: {}, full: true },
    };
    expect(decode(JSON.stringify(welcome), { from: "hub" }).ok).toBe(true);
    const desired = decode(JSON.stringify({ type: "desired", version: 0, patch: {} }), { from: "hub" });
    expect(!desired.ok && desired.error.code).toBe(ErrorCode.INVALID_PDU);
  });
});

describe("setLongTimeout", () => {
  it("fires after delays beyond 2^31−1 ms, not at once", () => {
    vi.useFakeTimers();
    try {
      const fired = vi.fn();
      setLongTimeout(fired, 30 * 86_400_000);
      vi.advanceTimersByTime(MAX_TIMER_MS);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(30 * 86_400_000 - MAX_TIMER_MS - 1);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(fired).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("can be cleared in any chunk", () => {
    vi.useFakeTimers();
    try {
      const fired = vi.fn();
      const timer = setLongTimeout(fired, 3 * MAX_TIMER_MS);
      vi.advanceTimersByTime(MAX_TIMER_MS + 5);
      clearLongTimeout(timer);
      vi.advanceTimersByTime(3 * MAX_TIMER_MS);
      expect(fired).not.toHaveBeenCalled();
      expect(() => clearLongTimeout(undefined)).not.toThrow();
    } finally {
      vi.useRealTimers();
    }
  });
});
