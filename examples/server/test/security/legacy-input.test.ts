import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WsDevice } from "../../../../packages/cloud-sdk/test/support/ws-device.js";
import { startTestServer, type TestServer } from "../support/server-fixture.js";

/**
 * #21.11 and #21.13 as a caller with a write/admin token sees them: the original system's
 * bodies and the token and command durations are checked like any v1 body — a 400 in the
 * right envelope naming the field, never a 500 or 503, nothing stored.
 */
let server: TestServer;

const ADD = "/service/devices_manage/device_add";
const valid = {
  password: "factory-password-0001",
  device_name: "edge-node-1",
  hardware: { sn: "SN1", model: "M1" },
  software: { version: "1.0.3", last_update: 1_700_000_000_000 },
  nic: [{ type: "eth", mac: "AA:BB:CC:DD:EE:01", ipv4: "192.168.1.10" }],
};

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe("legacy device_add: bad input → 400 GENERAL_ERROR naming the field, nothing stored", () => {
  type Case = [name: string, body: unknown, field: string];
  const CASES: Case[] = [
    ["nic: [null] (was a 500)", { ...valid, nic: [null] }, "/body/nic/0"],
    [
      "an object as the serial number (was stored as [object Object])",
      { ...valid, hardware: { sn: { x: 1 } } },
      "/body/hardware/sn",
    ],
    ["an object as the device name", { ...valid, device_name: { x: 1 } }, "/body/device_name"],
    [
      "last_update 1e300 (was accepted)",
      { ...valid, software: { last_update: 1e300 } },
      "/body/software/last_update",
    ],
    ["a nic that is a string", { ...valid, nic: ["eth0"] }, "/body/nic/0"],
    ["a bad MAC", { ...valid, nic: [{ mac: "zz" }] }, "/body/nic/0/mac"],
    ["no password", { device_name: "x" }, "/body/password"],
    ["a short password", { ...valid, password: "short" }, "/body/password"],
  ];

  it.each(CASES)("%s", async (_name, body, field) => {
    const response = await server.api("POST", ADD, { body });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ status: "fail", type: "GENERAL_ERROR" });
    expect(response.body.message).toContain(field);
  });

  it("a body nested 20,000 deep → 400 in the envelope", async () => {
    const raw = `{"password":"factory-password-0001","device_name":"x","x":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`;
    const response = await server.api("POST", ADD, { raw });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ status: "fail", type: "GENERAL_ERROR" });
    expect(response.body.message).toMatch(/depth/);
  });

  it("nothing was stored; the original body still works", async () => {
    expect((await server.api("GET", "/api/v1/devices")).body.items).toEqual([]);
    const response = await server.api("POST", ADD, { body: { ...valid, extra_field: "ignored" } });
    expect(response.status).toBe(200);
    const device = await server.api("GET", `/api/v1/devices/${response.body.data.device_id}`);
    expect(device.body.hardware).toMatchObject({ serialNumber: "SN1", model: "M1" });
    expect(device.body.software).toEqual({ version: "1.0.3", lastUpdate: 1_700_000_000_000 });
  });
});

describe("legacy give_order", () => {
  it("params beyond the document limits → 400 GENERAL_ERROR naming the limit", async () => {
    const response = await server.api("POST", "/service/devices_manage/give_order", {
      body: { device_id: "123", order: "x", params: { list: new Array(10_001).fill(0) } },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ status: "fail", type: "GENERAL_ERROR" });
    expect(response.body.message).toContain("array_length");
  });

  it("a device_id of the wrong type → 400 GENERAL_ERROR", async () => {
    const response = await server.api("POST", "/service/devices_manage/give_order", {
      body: { device_id: { id: 1 }, order: "restart" },
    });
    expect(response).toMatchObject({ status: 400, body: { status: "fail", type: "GENERAL_ERROR" } });
  });
});

describe("durations have documented maxima (#21.13)", () => {
  it("POST /tokens expiresInMs 1e300 → 400 validation_failed (was 503); ten years is fine", async () => {
    const huge = await server.api("POST", "/api/v1/tokens", {
      body: { name: "t", scopes: ["read"], expiresInMs: 1e300 },
    });
    expect(huge.status).toBe(400);
    expect(huge.body).toMatchObject({ code: "validation_failed" });
    expect(huge.body.errors[0].path).toBe("/body/expiresInMs");
    const tenYears = await server.api("POST", "/api/v1/tokens", {
      body: { name: "t", scopes: ["read"], expiresInMs: 10 * 365 * 86_400_000 },
    });
    expect(tenYears.status).toBe(201);
  });

  it("the SDK refuses the same lifetime without the REST schema", async () => {
    await expect(
      server.deps.tokens.create({ name: "t", scopes: ["read"], expiresInMs: 1e300 }),
    ).rejects.toMatchObject({
      code: "validation_failed",
    });
  });

  it.each([
    ["ttlMs", { ttlMs: 30 * 86_400_000 + 1 }],
    ["timeoutMs", { timeoutMs: 86_400_000 + 1 }],
  ])("a command %s past its maximum → 400", async (field, extra) => {
    const created = await server.api("POST", "/api/v1/devices", { body: { name: `d-${field}` } });
    const response = await server.api("POST", `/api/v1/devices/${created.body.id}/commands`, {
      body: { method: "system.ping", ...extra },
    });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].path).toBe(`/body/${field}`);
  });

  it("wait: true with ttlMs beyond 2^31 ms waits for the outcome (was an immediate 504)", async () => {
    const created = await server.api("POST", "/api/v1/devices", { body: { name: "offline" } });
    const { id, secret } = created.body;
    const answer = server.api("POST", `/api/v1/devices/${id}/commands`, {
      body: { method: "system.ping", wait: true, ttlMs: 29 * 86_400_000 },
    });
    // Offline: it is queued; only then does the device come and answer.
    await expect
      .poll(async () => (await server.api("GET", `/api/v1/devices/${id}/commands`)).body.items.length)
      .toBe(1);
    const { device } = await WsDevice.connect(server.wsUrl, { deviceId: id, secret });
    const cmd = await device.next("cmd");
    device.send({ type: "ack", id: cmd.id });
    device.send({ type: "result", id: cmd.id, ok: true, data: { pong: true } });
    const response = await answer;
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: "SUCCEEDED", result: { pong: true } });
    await device.close();
  });
});
