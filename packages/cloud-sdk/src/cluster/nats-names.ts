/**
 * Names and payloads on NATS. Device ids are Snowflakes (decimal strings) and pass through
 * as they are; anything outside [A-Za-z0-9_-] is hex-encoded behind "=", which no plain id
 * contains, so the mapping stays one-to-one and every result is a single subject token and
 * a valid KV key. Payloads are JSON.
 */
const PLAIN = /^[A-Za-z0-9_-]{1,200}$/;

export function deviceToken(deviceId: string): string {
  return PLAIN.test(deviceId) ? deviceId : `=${Buffer.from(deviceId, "utf8").toString("hex")}`;
}

export function keyToDeviceId(key: string): string {
  return key.startsWith("=") ? Buffer.from(key.slice(1), "hex").toString("utf8") : key;
}

/** A node id or prefix made safe for a subject token / bucket name (lossy, for readability only). */
export function nameToken(name: string): string {
  const token = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
  return token === "" ? "node" : token;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const encode = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
export const decode = <T>(data: Uint8Array): T => JSON.parse(decoder.decode(data)) as T;
