import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WsDevice } from "../../../packages/cloud-sdk/test/support/ws-device.js";
import { startTestServer, type TestServer } from "./support/server-fixture.js";

/**
 * What a caller sees for each kind of bad input — always problem+json with a stable code
 * (or a documented close code on the WebSocket) — and that nothing is lost afterwards.
 */
let server: TestServer;
let deviceId: string;
let secret: string;
let readToken: string;
let groupId: string;

beforeAll(async () => {
  server = await startTestServer({ overrides: { bodyLimitBytes: 64 * 1024 } });
  const created = await server.api("POST", "/api/v1/devices", {
    body: { name: "keep-me", hardware: { serialNumber: "S1", model: "M1" } },
  });
  deviceId = created.body.id;
  secret = created.body.secret;
  readToken = (await server.api("POST", "/api/v1/tokens", { body: { name: "ro", scopes: ["read"] } })).body
    .token;
  groupId = (await server.api("POST", "/api/v1/groups", { body: { name: "g" } })).body.id;
  await server.api("PATCH", `/api/v1/devices/${deviceId}/state/desired`, { body: { a: 1 } });
});
afterAll(async () => {
  await server.close();
});

type Case = [
  name: string,
  method: string,
  path: () => string,
  options: Parameters<TestServer["api"]>[2],
  status: number,
  code: string,
];

const CASES: Case[] = [
  ["invalid JSON", "POST", () => "/api/v1/devices", { raw: "{name:" }, 400, "invalid_json"],
  ["JSON that is not an object", "POST", () => "/api/v1/devices", { raw: "[1,2]" }, 400, "validation_failed"],
  ["wrong type", "POST", () => "/api/v1/devices", { body: { name: 42 } }, 400, "validation_failed"],
  [
    "missing required field",
    "POST",
    () => "/api/v1/devices",
    { body: { type: "x" } },
    400,
    "validation_failed",
  ],
  [
    "unknown field refused",
    "POST",
    () => "/api/v1/devices",
    { body: { name: "x", colour: "red" } },
    400,
    "validation_failed",
  ],
  [
    "short factory secret",
    "POST",
    () => "/api/v1/devices",
    { body: { name: "x", secret: "short" } },
    400,
    "validation_failed",
  ],
  [
    "bad MAC",
    "POST",
    () => "/api/v1/devices",
    { body: { name: "x", hardware: { nics: [{ mac: "zz" }] } } },
    400,
    "validation_failed",
  ],
  ["empty PATCH", "PATCH", () => `/api/v1/devices/${deviceId}`, { body: {} }, 400, "validation_failed"],
  [
    "body of the wrong media type",
    "POST",
    () => "/api/v1/devices",
    { raw: "name=x", headers: { "content-type": "text/plain" } },
    415,
    "unsupported_media_type",
  ],
  [
    "oversize body",
    "POST",
    () => "/api/v1/devices",
    { body: { name: "x", description: "d".repeat(70_000) } },
    413,
    "payload_too_large",
  ],
  ["no token", "GET", () => "/api/v1/devices", { token: null }, 401, "unauthorized"],
  ["unknown token", "GET", () => "/api/v1/devices", { token: "ce_nope" }, 401, "invalid_token"],
  [
    "read token writing",
    "POST",
    () => "/api/v1/devices",
    { token: "READ", body: { name: "x" } },
    403,
    "forbidden",
  ],
  ["read token on tokens", "GET", () => "/api/v1/tokens", { token: "READ" }, 403, "forbidden"],
  ["unknown device", "GET", () => "/api/v1/devices/123456789", {}, 404, "device_not_found"],
  ["malformed device id", "GET", () => "/api/v1/devices/abc", {}, 400, "validation_failed"],
  ["unknown group", "GET", () => "/api/v1/groups/123456789", {}, 404, "group_not_found"],
  [
    "unknown command",
    "GET",
    () => `/api/v1/devices/${deviceId}/commands/123456789`,
    {},
    404,
    "command_not_found",
  ],
  [
    "command to unknown device",
    "POST",
    () => "/api/v1/devices/123456789/commands",
    { body: { method: "x" } },
    404,
    "device_not_found",
  ],
  [
    "bad command method",
    "POST",
    () => `/api/v1/devices/${deviceId}/commands`,
    { body: { method: "rm -rf /" } },
    400,
    "validation_failed",
  ],
  ["bad query type", "GET", () => "/api/v1/devices?limit=lots", {}, 400, "validation_failed"],
  ["limit out of range", "GET", () => "/api/v1/devices?limit=100000", {}, 400, "validation_failed"],
  [
    "If-Match mismatch",
    "PATCH",
    () => `/api/v1/devices/${deviceId}/state/desired`,
    { body: { a: 2 }, headers: { "if-match": "7" } },
    412,
    "version_mismatch",
  ],
  [
    "If-Match garbage",
    "PATCH",
    () => `/api/v1/devices/${deviceId}/state/desired`,
    { body: { a: 2 }, headers: { "if-match": "soon" } },
    400,
    "validation_failed",
  ],
  [
    "desired patch not an object",
    "PATCH",
    () => `/api/v1/devices/${deviceId}/state/desired`,
    { raw: "[1]" },
    400,
    "validation_failed",
  ],
  ["duplicate group name", "POST", () => "/api/v1/groups", { body: { name: "g" } }, 409, "conflict"],
  ["unknown route", "GET", () => "/api/v1/nothing-here", {}, 404, "route_not_found"],
  ["wrong method", "PUT", () => "/api/v1/devices", { body: {} }, 405, "method_not_allowed"],
];

describe("REST bad input → problem+json", () => {
  it.each(CASES)("%s → %i %s", async (_name, method, path, options, status, code) => {
    const opts = { ...options };
    if (opts.token === "READ") opts.token = readToken;
    const response = await server.api(method, path(), opts);
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect(response.body).toMatchObject({ code, status, type: `https://cloudedge.dev/problems/${code}` });
    expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
  });

  it("names the offending fields", async () => {
    const response = await server.api("POST", "/api/v1/devices", { body: { name: 42, colour: "red" } });
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "/body/name" }),
        expect.objectContaining({ path: "/body/colour" }),
      ]),
    );
  });
});

describe("WebSocket bad input → documented close codes", () => {
  it("garbage before hello → error + 4000", async () => {
    const ws = await WsDevice.open(server.wsUrl);
    ws.sendRaw("hello?");
    expect((await ws.next("error")).code).toBe("invalid_json");
    expect((await ws.closed).code).toBe(4000);
  });

  it("oversize frame → 1009", async () => {
    const { device } = await WsDevice.connect(server.wsUrl, { deviceId, secret });
    device.sendRaw("x".repeat(300 * 1024));
    expect((await device.closed).code).toBe(1009);
  });

  it("wrong secret → 4001, then the (device, address) backoff → 4010 with retry-after", async () => {
    // protocol.md §4.1: the first failure is answered auth_failed; it starts a 1 s backoff for
    // this device from this address, so retrying at once is answered rate_limited.
    const codes: number[] = [];
    const reasons: string[] = [];
    for (let i = 0; i < 6; i++) {
      const ws = await WsDevice.open(server.wsUrl);
      ws.send({
        type: "hello",
        versions: [1],
        deviceId,
        secret: "wrong-wrong-wrong-wrong",
        agent: { name: "t", version: "1" },
        bootId: "b",
        desiredVersion: 0,
      });
      const closed = await ws.closed;
      codes.push(closed.code);
      reasons.push(closed.reason);
    }
    expect(codes).toEqual([4001, 4010, 4010, 4010, 4010, 4010]);
    for (const reason of reasons.slice(1)) expect(reason).toMatch(/^retry-after=\d+$/);
  });
});

describe("after the whole matrix", () => {
  it("the server is healthy and nothing was lost", async () => {
    expect((await server.api("GET", "/readyz", { token: null })).status).toBe(200);
    const devices = await server.api("GET", "/api/v1/devices");
    expect(devices.body.items.map((d: { name: string }) => d.name)).toEqual(["keep-me"]);
    const state = await server.api("GET", `/api/v1/devices/${deviceId}/state`);
    expect(state.body).toMatchObject({ desired: { a: 1 }, desiredVersion: 1 });
    expect((await server.api("GET", `/api/v1/groups/${groupId}`)).status).toBe(200);
  });
});
