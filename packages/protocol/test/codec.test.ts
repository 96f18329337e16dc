import { describe, expect, it } from "vitest";
import {
  CloseCode,
  DEFAULT_LIMITS,
  decode,
  ERROR_CODES,
  ErrorCode,
  encode,
  encodeBytes,
  isPdu,
  isProtocolError,
  PDU_TYPES,
  type Pdu,
  ProtocolError,
  resolveLimits,
} from "../src/index.js";
import { VALID_PDUS } from "./support/examples.js";

const hello = VALID_PDUS[0]![1] as Pdu & { type: "hello" };
const json = (value: unknown) => JSON.stringify(value);
const bytes = (text: string) => new TextEncoder().encode(text);

describe("valid PDUs round-trip", () => {
  it("has an example for every PDU type", () => {
    const covered = new Set(VALID_PDUS.map(([, pdu]) => pdu.type));
    expect([...covered].sort()).toEqual([...PDU_TYPES].sort());
  });

  it.each(VALID_PDUS)("%s", (_name, pdu) => {
    const text = encode(pdu);
    expect(decode(text)).toEqual({ ok: true, pdu });
    expect(decode(bytes(text))).toEqual({ ok: true, pdu });
    expect(decode(encodeBytes(pdu).buffer as ArrayBuffer)).toEqual({ ok: true, pdu });
    expect(isPdu(pdu.type, pdu)).toBe(true);
  });

  it("tolerates unknown extra fields (forward compatibility)", () => {
    const result = decode(json({ type: "ping", seq: 1, future: { x: [1, 2] } }));
    expect(result.ok).toBe(true);
  });
});

type InvalidCase = [name: string, input: string | Uint8Array, code: string, closeCode: number | undefined];

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
const nestedObject = (n: number): unknown => (n === 0 ? 1 : { a: nestedObject(n - 1) });

const INVALID: InvalidCase[] = [
  ["empty message", "", ErrorCode.INVALID_JSON, CloseCode.PROTOCOL_VIOLATION],
  ["bad JSON", "{type:", ErrorCode.INVALID_JSON, CloseCode.PROTOCOL_VIOLATION],
  ["trailing garbage", '{"type":"ping","seq":1}x', ErrorCode.INVALID_JSON, CloseCode.PROTOCOL_VIOLATION],
  ["invalid UTF-8 bytes", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), ErrorCode.INVALID_UTF8, 4000],
  ["JSON array", "[1,2]", ErrorCode.NOT_AN_OBJECT, CloseCode.PROTOCOL_VIOLATION],
  ["JSON string", '"ping"', ErrorCode.NOT_AN_OBJECT, CloseCode.PROTOCOL_VIOLATION],
  ["JSON null", "null", ErrorCode.NOT_AN_OBJECT, CloseCode.PROTOCOL_VIOLATION],
  ["missing type", json({ seq: 1 }), ErrorCode.NOT_AN_OBJECT, CloseCode.PROTOCOL_VIOLATION],
  ["numeric type", json({ type: 1 }), ErrorCode.NOT_AN_OBJECT, CloseCode.PROTOCOL_VIOLATION],
  ["unknown type", json({ type: "subscribe", id: "x" }), ErrorCode.UNKNOWN_TYPE, undefined],
  ["prototype key as type", json({ type: "constructor" }), ErrorCode.UNKNOWN_TYPE, undefined],
  ["__proto__ as type", json({ type: "__proto__" }), ErrorCode.UNKNOWN_TYPE, undefined],
  ["ping missing seq", json({ type: "ping" }), ErrorCode.INVALID_PDU, undefined],
  ["ping seq string", json({ type: "ping", seq: "1" }), ErrorCode.INVALID_PDU, undefined],
  ["ping seq negative", json({ type: "ping", seq: -1 }), ErrorCode.INVALID_PDU, undefined],
  ["ping seq fraction", json({ type: "ping", seq: 1.5 }), ErrorCode.INVALID_PDU, undefined],
  ["hello without identity", json({ ...hello, deviceId: undefined }), ErrorCode.INVALID_PDU, undefined],
  [
    "hello serial without model",
    json({ ...hello, deviceId: undefined, serialNumber: "x" }),
    "invalid_pdu",
    undefined,
  ],
  ["hello without credentials", json({ ...hello, secret: undefined }), ErrorCode.INVALID_PDU, undefined],
  ["hello numeric device id", json({ ...hello, deviceId: 1189273498234982400 }), "invalid_pdu", undefined],
  ["hello device id with leading zero", json({ ...hello, deviceId: "0123" }), "invalid_pdu", undefined],
  ["hello no versions", json({ ...hello, versions: [] }), ErrorCode.INVALID_PDU, undefined],
  ["hello wrong version type", json({ ...hello, versions: ["1"] }), ErrorCode.INVALID_PDU, undefined],
  ["hello version 0", json({ ...hello, versions: [0] }), ErrorCode.INVALID_PDU, undefined],
  ["hello missing agent", json({ ...hello, agent: undefined }), ErrorCode.INVALID_PDU, undefined],
  ["hello bad mac", json({ ...hello, hardware: { nics: [{ mac: "zz" }] } }), "invalid_pdu", undefined],
  [
    "cmd bad method",
    json({ type: "cmd", id: "a", method: "rm -rf", deadline: 1, timeoutMs: 1 }),
    "invalid_pdu",
    undefined,
  ],
  [
    "cmd id too long",
    json({ type: "cmd", id: "a".repeat(65), method: "m", deadline: 1, timeoutMs: 1 }),
    "invalid_pdu",
    undefined,
  ],
  ["ack without id", json({ type: "ack" }), ErrorCode.INVALID_PDU, undefined],
  ["ack with empty id", json({ type: "ack", id: "" }), ErrorCode.INVALID_PDU, undefined],
  [
    "result ok with error",
    json({ type: "result", id: "a", ok: true, error: { code: "x", message: "" } }),
    "invalid_pdu",
    undefined,
  ],
  [
    "result failed without error",
    json({ type: "result", id: "a", ok: false }),
    ErrorCode.INVALID_PDU,
    undefined,
  ],
  [
    "result bad error code",
    json({ type: "result", id: "a", ok: false, error: { code: "Bad Code", message: "" } }),
    "invalid_pdu",
    undefined,
  ],
  ["status without ts", json({ type: "status", data: {} }), ErrorCode.INVALID_PDU, undefined],
  [
    "status cpu over 100 %",
    json({ type: "status", ts: 1, data: { cpu: { usagePercent: 101 } } }),
    "invalid_pdu",
    undefined,
  ],
  ["reported version 0", json({ type: "reported", version: 0, patch: {} }), ErrorCode.INVALID_PDU, undefined],
  [
    "reported patch is array",
    json({ type: "reported", version: 1, patch: [] }),
    ErrorCode.INVALID_PDU,
    undefined,
  ],
  [
    "desired patch is null",
    json({ type: "desired", version: 1, patch: null }),
    ErrorCode.INVALID_PDU,
    undefined,
  ],
  ["bye without reason", json({ type: "bye" }), ErrorCode.INVALID_PDU, undefined],
  [
    "oversize text",
    json({ type: "ping", seq: 1, pad: "x".repeat(DEFAULT_LIMITS.maxFrameBytes) }),
    "frame_too_large",
    1009,
  ],
  [
    "oversize bytes",
    bytes(json({ type: "ping", seq: 1, pad: "x".repeat(300_000) })),
    "frame_too_large",
    1009,
  ],
  // 87,382 three-byte characters fit the limit in UTF-16 units but not in UTF-8 bytes.
  [
    "oversize in UTF-8 only",
    json({ type: "ping", seq: 1, pad: "€".repeat(87_382) }),
    "frame_too_large",
    1009,
  ],
  ["too deep arrays", json({ type: "ping", seq: 1, x: JSON.parse(deep(40)) }), ErrorCode.TOO_DEEP, 4000],
  ["too deep objects", json({ type: "ping", seq: 1, x: nestedObject(40) }), ErrorCode.TOO_DEEP, 4000],
  ["100k-deep arrays", deep(100_000), ErrorCode.NOT_AN_OBJECT, 4000],
  ["100k-deep in a PDU", `{"type":"ping","seq":1,"x":${deep(100_000)}}`, ErrorCode.TOO_DEEP, 4000],
  ["string too long", json({ type: "ping", seq: 1, s: "x".repeat(65_537) }), ErrorCode.STRING_TOO_LONG, 4000],
  ["key too long", json({ type: "ping", seq: 1, ["k".repeat(65_537)]: 1 }), ErrorCode.STRING_TOO_LONG, 4000],
  [
    "array too long",
    json({ type: "ping", seq: 1, a: new Array(10_001).fill(0) }),
    ErrorCode.ARRAY_TOO_LONG,
    4000,
  ],
  [
    "too many keys",
    json({
      type: "ping",
      seq: 1,
      o: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 0])),
    }),
    "too_many_keys",
    4000,
  ],
];

describe("invalid wire input", () => {
  it.each(INVALID)("%s → %s", (_name, input, code, closeCode) => {
    const result = decode(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(ProtocolError);
    expect(result.error.code).toBe(code);
    expect(result.error.closeCode).toBe(closeCode);
    expect(ERROR_CODES[result.error.code]).toBeTypeOf("string");
  });

  it("names the offending field and PDU id in the error, never the value", () => {
    const secret = "super-secret-value-123";
    const result = decode(json({ type: "result", id: "cmd-7", ok: "yes", secret }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.ref).toBe("cmd-7");
    expect(result.error.pduType).toBe("result");
    expect(result.error.issues).toContainEqual({ path: "/ok", message: "Expected boolean" });
    expect(JSON.stringify(result.error.toPdu())).not.toContain(secret);
    expect(result.error.toPdu()).toMatchObject({ type: "error", code: "invalid_pdu", ref: "cmd-7" });
  });

  it("always yields an error PDU that itself encodes, whatever the offending id", () => {
    for (const id of ["", "x".repeat(65), 7, null]) {
      const result = decode(json({ type: "ack", id }));
      expect(!result.ok && (() => encode(result.error.toPdu()))()).toBeTypeOf("string");
    }
  });

  it("rejects PDUs from the wrong side with unexpected_pdu", () => {
    const fromDevice = decode(json(VALID_PDUS[3]![1]), { from: "device" });
    expect(!fromDevice.ok && fromDevice.error.code).toBe(ErrorCode.UNEXPECTED_PDU);
    const fromHub = decode(json(hello), { from: "hub" });
    expect(!fromHub.ok && fromHub.error.code).toBe(ErrorCode.UNEXPECTED_PDU);
    expect(decode(json(hello), { from: "device" }).ok).toBe(true);
    expect(decode(json({ type: "bye", reason: "x" }), { from: "hub" }).ok).toBe(true);
  });

  it("resolves limits once: a resolved object passed back is used as is, and cannot be changed", () => {
    const limits = resolveLimits({ maxDepth: 3 });
    expect(resolveLimits(limits)).toBe(limits);
    expect(resolveLimits(undefined)).toBe(DEFAULT_LIMITS);
    expect(Object.isFrozen(limits)).toBe(true);
    const shallow = decode(json({ type: "ping", seq: 1, x: { y: { z: {} } } }), { limits });
    expect(!shallow.ok && shallow.error.code).toBe(ErrorCode.TOO_DEEP);
    expect(() => resolveLimits({ maxDepth: 0 })).toThrow(RangeError);
  });

  it("honours configured limits", () => {
    const text = json({ type: "ping", seq: 1, pad: "x".repeat(100) });
    const small = decode(text, { limits: { maxFrameBytes: 64 } });
    expect(!small.ok && small.error.code).toBe(ErrorCode.FRAME_TOO_LARGE);
    const shallow = decode(json({ type: "ping", seq: 1, x: { y: {} } }), { limits: { maxDepth: 2 } });
    expect(!shallow.ok && shallow.error.code).toBe(ErrorCode.TOO_DEEP);
    expect(decode(json({ type: "ping", seq: 1, x: {} }), { limits: { maxDepth: 2 } }).ok).toBe(true);
    const strings = decode(json({ type: "ping", seq: 1, s: "abcdef" }), { limits: { maxStringLength: 5 } });
    expect(!strings.ok && strings.error.code).toBe(ErrorCode.STRING_TOO_LONG);
    const arrays = decode(json({ type: "ping", seq: 1, a: [1, 2, 3] }), { limits: { maxArrayLength: 2 } });
    expect(!arrays.ok && arrays.error.code).toBe(ErrorCode.ARRAY_TOO_LONG);
    const keys = decode(json({ type: "ping", seq: 1 }), { limits: { maxObjectKeys: 1 } });
    expect(!keys.ok && keys.error.code).toBe(ErrorCode.TOO_MANY_KEYS);
    expect(() => decode(text, { limits: { maxDepth: 0 } })).not.toThrow();
  });
});

describe("encode", () => {
  it("validates before serialising", () => {
    const bad = { type: "ping", seq: -1 } as unknown as Pdu;
    expect(() => encode(bad)).toThrowError(ProtocolError);
    try {
      encode(bad);
    } catch (error) {
      expect(isProtocolError(error) && error.code).toBe(ErrorCode.INVALID_PDU);
    }
    expect(() => encode({ type: "nope" } as unknown as Pdu)).toThrow(
      expect.objectContaining({ code: ErrorCode.UNKNOWN_TYPE }),
    );
    expect(() => encode(null as unknown as Pdu)).toThrow(expect.objectContaining({ code: "not_an_object" }));
  });

  it("refuses to produce a frame the peer would reject as too large", () => {
    const big: Pdu = { type: "result", id: "a", ok: true, data: Array(6).fill("x".repeat(60_000)) };
    expect(() => encode(big)).toThrow(expect.objectContaining({ code: ErrorCode.FRAME_TOO_LARGE }));
    expect(encode(big, { limits: { maxFrameBytes: 1_000_000 } })).toContain('"type":"result"');
  });

  it("drops undefined optional fields, as JSON does", () => {
    const text = encode({ type: "ping", seq: 3, ts: undefined });
    expect(text).toBe('{"type":"ping","seq":3}');
  });
});
