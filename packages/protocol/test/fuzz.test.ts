import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, ERROR_CODES, encode, isPdu, type Pdu, ProtocolError } from "../src/index.js";
import { anyJson, anyValidPdu, mutatedPdu } from "./support/arbitrary.js";

/**
 * Property-based tests. Together they feed decode well over 100,000 generated inputs per
 * run (the counts below add up to 150,000); a fixed seed is not used, so every CI run
 * explores new inputs — a failure prints its seed and shrunk counterexample.
 */

let decoded = 0;

/** decode must return, never throw, and return only valid PDUs or known ProtocolErrors. */
function assertTotal(input: string | Uint8Array): void {
  decoded++;
  const result = decode(input);
  if (result.ok) {
    expect(isPdu(result.pdu.type, result.pdu)).toBe(true);
  } else {
    expect(result.error).toBeInstanceOf(ProtocolError);
    expect(Object.hasOwn(ERROR_CODES, result.error.code)).toBe(true);
  }
}

describe("decode is total", () => {
  it("arbitrary strings (40,000)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), assertTotal), { numRuns: 40_000 });
  });

  it("arbitrary bytes (25,000)", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), assertTotal), { numRuns: 25_000 });
  });

  it("arbitrary JSON values (20,000)", () => {
    fc.assert(
      fc.property(anyJson, (value) => assertTotal(JSON.stringify(value))),
      { numRuns: 20_000 },
    );
  });

  it("objects with a known type and arbitrary fields (20,000)", () => {
    const shaped = fc
      .tuple(
        fc.constantFrom(
          "hello",
          "welcome",
          "ping",
          "pong",
          "status",
          "reported",
          "desired",
          "cmd",
          "ack",
          "result",
          "error",
          "bye",
        ),
        fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 6 }),
      )
      .map(([type, fields]) => JSON.stringify({ ...fields, type }));
    fc.assert(fc.property(shaped, assertTotal), { numRuns: 20_000 });
  });

  it("valid PDUs with one field deleted or replaced (20,000)", () => {
    fc.assert(
      fc.property(mutatedPdu, (value) => assertTotal(JSON.stringify(value))),
      { numRuns: 20_000 },
    );
  });

  it("valid PDUs truncated or with one byte flipped (5,000)", () => {
    fc.assert(
      fc.property(anyValidPdu, fc.nat(), fc.integer({ min: 0, max: 255 }), (pdu, at, byte) => {
        const data = new TextEncoder().encode(JSON.stringify(pdu));
        assertTotal(data.subarray(0, at % data.length));
        const flipped = data.slice();
        flipped[at % data.length] = byte;
        assertTotal(flipped);
      }),
      { numRuns: 5_000 },
    );
  });
});

describe("round trip", () => {
  it("decode(encode(x)) equals x for generated valid PDUs of every type (20,000)", () => {
    fc.assert(
      fc.property(anyValidPdu, (pdu: Pdu) => {
        decoded++;
        const result = decode(encode(pdu));
        expect(result).toEqual({ ok: true, pdu });
      }),
      { numRuns: 20_000 },
    );
  });

  it("fed at least 100,000 inputs to decode", () => {
    expect(decoded).toBeGreaterThanOrEqual(100_000);
  });
});
