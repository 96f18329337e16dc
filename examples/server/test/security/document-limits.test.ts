import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WsDevice } from "../../../../packages/cloud-sdk/test/support/ws-device.js";
import { startTestServer, type TestServer } from "../support/server-fixture.js";

/**
 * #21.1 / #20.11 as an attacker with a `write` token or one device's credentials sees it:
 * every document beyond the limits is refused where it comes in (400 document_limit naming
 * the limit, or `invalid_pdu` on the WebSocket), nothing answers 500, and the device still
 * gets its welcome — with the largest documents the API does accept.
 */
let server: TestServer;
let deviceId: string;
let secret: string;

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
/** JSON text nested `depth` levels, built without recursion (JSON.stringify would overflow). */
const deepText = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const manyKeys = (from: number, count: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${from + i}`, 1]));
const desiredPath = () => `/api/v1/devices/${deviceId}/state/desired`;
const hello = () => ({ deviceId, secret });

beforeAll(async () => {
  server = await startTestServer();
  const created = await server.api("POST", "/api/v1/devices", { body: { name: "target" } });
  deviceId = created.body.id;
  secret = created.body.secret;
  await server.api("PATCH", desiredPath(), { body: { keep: "me" } });
});
afterAll(async () => {
  await server.close();
});

describe("REST: documents beyond the limits are a 400 naming the limit", () => {
  type Case = [
    name: string,
    path: () => string,
    body: { raw: string } | { body: unknown },
    limit: string,
    max: number,
  ];
  const CASES: Case[] = [
    ["desired nested 40 deep (#21.1)", desiredPath, { body: nested(40) }, "depth", 30],
    ["desired nested 31 deep: one past the limit", desiredPath, { body: nested(31) }, "depth", 30],
    ["desired nested 20,000 deep (#20.11)", desiredPath, { raw: deepText(20_000) }, "depth", 30],
    [
      "desired array of 10,001 (#21.1)",
      desiredPath,
      { body: { list: new Array(10_001).fill(0) } },
      "array_length",
      10_000,
    ],
    ["desired object of 1,001 keys", desiredPath, { body: { o: manyKeys(0, 1001) } }, "keys", 1000],
    ["desired string of 65,537", desiredPath, { body: { s: "x".repeat(65_537) } }, "string_length", 65_536],
    [
      "command params nested 40 deep",
      () => `/api/v1/devices/${deviceId}/commands`,
      { body: { method: "system.ping", params: nested(40) } },
      "depth",
      30,
    ],
    [
      "command params nested 20,000 deep",
      () => `/api/v1/devices/${deviceId}/commands`,
      { raw: `{"method":"system.ping","params":${deepText(20_000)}}` },
      "depth",
      30,
    ],
    [
      "another body member nested 20,000 deep",
      () => "/api/v1/devices",
      { raw: `{"name":"x","hardware":${deepText(20_000)}}` },
      "depth",
      31,
    ],
  ];

  it.each(CASES)("%s", async (_name, path, options, limit, max) => {
    const method = path().endsWith("desired") ? "PATCH" : "POST";
    const response = await server.api(method, path(), options);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect(response.body).toMatchObject({ code: "document_limit", limit, max });
    expect(response.body.errors[0].path).toMatch(/^\/body/);
  });

  it("patches each within the limits cannot build a document beyond them", async () => {
    expect((await server.api("PATCH", desiredPath(), { body: { o: manyKeys(0, 600) } })).status).toBe(200);
    const second = await server.api("PATCH", desiredPath(), { body: { o: manyKeys(600, 401) } });
    expect(second.status).toBe(400);
    expect(second.body).toMatchObject({ code: "document_limit", limit: "keys", max: 1000 });
    expect(second.body.errors[0].path).toBe("/desired/o");
    const big = "x".repeat(40_000);
    expect((await server.api("PATCH", desiredPath(), { body: { o: null, b1: big } })).status).toBe(200);
    const third = await server.api("PATCH", desiredPath(), { body: { b2: big } });
    expect(third.body).toMatchObject({ code: "document_limit", limit: "bytes" });
    expect((await server.api("PATCH", desiredPath(), { body: { b1: null } })).status).toBe(200);
  });

  it("a group fan-out with params beyond the limits is one 400, not one error per member", async () => {
    const group = await server.api("POST", "/api/v1/groups", { body: { name: "g" } });
    await server.api("PUT", `/api/v1/groups/${group.body.id}/devices/${deviceId}`);
    const response = await server.api("POST", `/api/v1/groups/${group.body.id}/commands`, {
      body: { method: "system.ping", params: { list: new Array(10_001).fill(0) } },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: "document_limit", limit: "array_length" });
  });

  it("after all of it the device still gets its welcome, with the desired state", async () => {
    const { device, welcome } = await WsDevice.connect(server.wsUrl, hello());
    expect(welcome.desired?.patch).toEqual({ keep: "me" });
    await device.close();
  });
});

describe("the largest documents the API accepts are always sent (#21.1)", () => {
  it("a desired document at the depth and array limits reaches the device, live and in welcome", async () => {
    const { device } = await WsDevice.connect(server.wsUrl, hello());
    const patch = { deep: nested(29), list: new Array(10_000).fill(0) };
    const response = await server.api("PATCH", desiredPath(), { body: patch });
    expect(response.status).toBe(200);
    expect((await device.next("desired")).patch).toMatchObject(patch);
    await device.close();
    const again = await WsDevice.connect(server.wsUrl, hello());
    expect(again.welcome.desired?.patch).toMatchObject(patch);
    await again.device.close();
    await server.api("PATCH", desiredPath(), { body: { deep: null, list: null } });
  });
});

describe("WebSocket: documents beyond the limits", () => {
  it("status and reported nested 20,000 deep: too_deep and close 4000 (PDU limits); the device comes back", async () => {
    for (const text of [
      `{"type":"status","ts":1,"data":{"x":${deepText(20_000)}}}`,
      `{"type":"reported","version":1,"patch":${deepText(20_000)}}`,
    ]) {
      const { device } = await WsDevice.connect(server.wsUrl, hello());
      device.sendRaw(text);
      expect((await device.next("error")).code).toBe("too_deep");
      expect((await device.closed).code).toBe(4000);
    }
    const { device, welcome } = await WsDevice.connect(server.wsUrl, hello());
    expect(welcome.deviceId).toBe(deviceId);
    await device.close();
  });

  it("a document past the document limits but within the PDU's: invalid_pdu naming it, session goes on", async () => {
    const { device } = await WsDevice.connect(server.wsUrl, hello());
    device.send({ type: "reported", version: 1, patch: nested(31) as Record<string, unknown> });
    const reported = await device.next("error");
    expect(reported.code).toBe("invalid_pdu");
    expect(reported.issues?.[0]?.path).toMatch(/^\/patch\/a/);
    expect(reported.issues?.[0]?.message).toContain("document limit: depth");
    device.send({ type: "status", ts: Date.now(), data: { extra: nested(30) } });
    expect((await device.next("error")).issues?.[0]?.message).toContain("document limit: depth");
    // Nothing was stored, and the session is alive.
    const state = await server.api("GET", `/api/v1/devices/${deviceId}/state`);
    expect(state.body.reportedVersion).toBe(0);
    expect((await server.api("GET", `/api/v1/devices/${deviceId}/status`)).status).toBe(404);
    device.send({ type: "ping", seq: 1 });
    expect((await device.next("pong")).seq).toBe(1);
    await device.close();
  });

  it("reported patches each within the limits cannot build a document beyond them", async () => {
    const { device } = await WsDevice.connect(server.wsUrl, hello());
    device.send({ type: "reported", version: 1, patch: { o: manyKeys(0, 600) } });
    await expect
      .poll(async () => (await server.api("GET", `/api/v1/devices/${deviceId}/state`)).body.reportedVersion)
      .toBe(1);
    device.send({ type: "reported", version: 2, patch: { o: manyKeys(600, 401) } });
    const error = await device.next("error");
    expect(error).toMatchObject({ code: "invalid_pdu" });
    expect(error.issues?.[0]).toMatchObject({ path: "/o" });
    const state = await server.api("GET", `/api/v1/devices/${deviceId}/state`);
    expect(state.body.reportedVersion).toBe(1);
    await device.close();
  });

  it("a result past the document limits: invalid_pdu with the command id as ref", async () => {
    const { device } = await WsDevice.connect(server.wsUrl, hello());
    const sent = await server.api("POST", `/api/v1/devices/${deviceId}/commands`, { body: { method: "m" } });
    const cmd = await device.next("cmd");
    device.send({ type: "ack", id: cmd.id });
    device.send({ type: "result", id: cmd.id, ok: true, data: nested(31) });
    const error = await device.next("error");
    expect(error).toMatchObject({ code: "invalid_pdu", ref: cmd.id });
    device.send({ type: "result", id: cmd.id, ok: true, data: { fine: true } });
    await expect
      .poll(
        async () =>
          (await server.api("GET", `/api/v1/devices/${deviceId}/commands/${sent.body.id}`)).body.status,
      )
      .toBe("SUCCEEDED");
    await device.close();
  });
});

describe("__proto__ is data in desired, reported and delta alike (#20.11)", () => {
  it("desired and delta agree; reported clears it from delta", async () => {
    const response = await server.api("PATCH", desiredPath(), { raw: '{"__proto__":{"polluted":true}}' });
    expect(response.status).toBe(200);
    expect(Object.hasOwn(response.body.desired, "__proto__")).toBe(true);
    expect(Object.hasOwn(response.body.delta, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(response.body.delta, "__proto__")?.value).toEqual({
      polluted: true,
    });
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();

    const { device } = await WsDevice.connect(server.wsUrl, hello());
    device.sendRaw('{"type":"reported","version":3,"full":true,"patch":{"__proto__":{"polluted":true}}}');
    await expect
      .poll(async () => (await server.api("GET", `/api/v1/devices/${deviceId}/state`)).body.reportedVersion)
      .toBe(3);
    const state = (await server.api("GET", `/api/v1/devices/${deviceId}/state`)).body;
    expect(Object.hasOwn(state.reported, "__proto__")).toBe(true);
    expect(Object.hasOwn(state.delta, "__proto__")).toBe(false);
    await device.close();
  });
});
