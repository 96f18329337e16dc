import { describe, expect, it } from "vitest";
import {
  CLOSE_CODES,
  CloseCode,
  ERROR_CODES,
  ErrorCode,
  formatRetryAfter,
  negotiateVersion,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
  parseRetryAfter,
} from "../src/index.js";

describe("close codes", () => {
  const entries = Object.entries(CloseCode);

  it("are unique, each documented with a meaning and an advice", () => {
    expect(new Set(entries.map(([, code]) => code)).size).toBe(entries.length);
    for (const [name, code] of entries) {
      expect(CLOSE_CODES[code]).toMatchObject({ name });
      expect(CLOSE_CODES[code].meaning.length).toBeGreaterThan(5);
    }
    expect(Object.keys(CLOSE_CODES)).toHaveLength(entries.length);
  });

  it("are RFC 6455 codes or in the private 4000–4999 range", () => {
    for (const [, code] of entries) {
      expect(code < 1016 || (code >= 4000 && code <= 4999)).toBe(true);
    }
  });

  it("carry retry-after in the reason where the advice says so", () => {
    const withHint = entries.filter(([, code]) => CLOSE_CODES[code].advice === "retry_after").map(([n]) => n);
    expect(withHint.sort()).toEqual(["RATE_LIMITED", "SERVER_SHUTDOWN", "TRY_LATER"]);
  });
});

describe("error codes", () => {
  it("are snake_case, unique and each has a one-line meaning", () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(ERROR_CODES[code]).toMatch(/\S/);
    }
    expect(Object.keys(ERROR_CODES).sort()).toEqual([...codes].sort());
  });
});

describe("retry-after close reasons", () => {
  it.each([
    [formatRetryAfter(1500), 1500],
    [formatRetryAfter(-5), 0],
    [formatRetryAfter(12.6), 13],
    ["retry-after=0", 0],
    ["server restarting; retry-after=30000", 30000],
    ["retry-after=", undefined],
    ["retry-after=abc", undefined],
    ["retry-after=12x", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("%s → %s", (reason, ms) => {
    expect(parseRetryAfter(reason)).toBe(ms);
  });

  it("fits the 123-byte close reason limit of RFC 6455", () => {
    expect(new TextEncoder().encode(formatRetryAfter(Number.MAX_SAFE_INTEGER)).length).toBeLessThanOrEqual(
      123,
    );
  });
});

describe("version negotiation", () => {
  it.each([
    [[1], 1],
    [[2, 1], 1],
    [[1, 2, 3], 1],
    [[2], undefined],
    [[], undefined],
  ])("device offers %j → %s", (offered, chosen) => {
    expect(negotiateVersion(offered)).toBe(chosen);
  });

  it("picks the highest common version", () => {
    expect(negotiateVersion([1, 3, 2], [1, 2, 3])).toBe(3);
    expect(negotiateVersion([3, 1], [1, 2])).toBe(1);
  });

  it("speaks v1", () => {
    expect(PROTOCOL_VERSION).toBe(1);
    expect(PROTOCOL_VERSIONS).toEqual([1]);
  });
});
