import { afterEach, describe, expect, it } from "vitest";
import { WsDevice } from "../../../packages/cloud-sdk/test/support/ws-device.js";
import { startTestServer, type TestServer } from "./support/server-fixture.js";

/** The original system's endpoints, called with the original's request bodies. */
let server: TestServer;
afterEach(async () => {
  await server.close();
});

const ORIGINAL_DEVICE_ADD = {
  password: "factory-password-0001",
  device_name: "edge-node-1",
  device_type: "gateway",
  hardware: { sn: "SN20240001", model: "RK3568" },
  software: { version: "1.0.3", last_update: 1700000000000 },
  nic: [
    { type: "eth", mac: "AA:BB:CC:DD:EE:01", ipv4: "192.168.1.10" },
    { type: "wifi", mac: "AA:BB:CC:DD:EE:02", ipv4: "192.168.1.11" },
  ],
  dev_description: "rooftop gateway",
};

describe("original system endpoints", () => {
  it("device_add → success envelope with device_id and password; the device logs in with them", async () => {
    server = await startTestServer();
    const response = await server.api("POST", "/service/devices_manage/device_add", {
      body: ORIGINAL_DEVICE_ADD,
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: "success",
      data: { device_id: expect.stringMatching(/^\d+$/), password: ORIGINAL_DEVICE_ADD.password },
    });
    const id = response.body.data.device_id;
    const device = await server.api("GET", `/api/v1/devices/${id}`);
    expect(device.body).toMatchObject({
      name: "edge-node-1",
      type: "gateway",
      description: "rooftop gateway",
      hardware: {
        serialNumber: "SN20240001",
        model: "RK3568",
        nics: [{ type: "eth", mac: "AA:BB:CC:DD:EE:01", ipv4: "192.168.1.10" }, { type: "wifi" }],
      },
      software: { version: "1.0.3", lastUpdate: 1700000000000 },
    });
    // by (sn, model) as the original devices did
    const { welcome, device: ws } = await WsDevice.connect(server.wsUrl, {
      serialNumber: "SN20240001",
      model: "RK3568",
      secret: ORIGINAL_DEVICE_ADD.password,
    });
    expect(welcome.deviceId).toBe(id);
    await ws.close();
  });

  it("device_add twice with the same (sn, model) → 409 fail envelope", async () => {
    server = await startTestServer();
    await server.api("POST", "/service/devices_manage/device_add", { body: ORIGINAL_DEVICE_ADD });
    const again = await server.api("POST", "/service/devices_manage/device_add", {
      body: ORIGINAL_DEVICE_ADD,
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: "fail", type: "DEVICEOP_ERROR" });
  });

  it("device_add with bad input → 400 GENERAL_ERROR; without a token → 401 fail envelope", async () => {
    server = await startTestServer();
    const bad = await server.api("POST", "/service/devices_manage/device_add", {
      body: { device_name: "x" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: "fail", type: "GENERAL_ERROR" });
    const unauthenticated = await server.api("POST", "/service/devices_manage/device_add", {
      token: null,
      body: ORIGINAL_DEVICE_ADD,
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body).toMatchObject({ status: "fail", type: "GENERAL_ERROR" });
  });

  it("works without a token when legacy auth is turned off (drop-in mode)", async () => {
    server = await startTestServer({ overrides: { legacyAuth: false } });
    const response = await server.api("POST", "/service/devices_manage/device_add", {
      token: null,
      body: ORIGINAL_DEVICE_ADD,
    });
    expect(response.body.status).toBe("success");
  });

  it("device_statusInfo_query → latest status with device_id and dev_state; 404 fail for unknown", async () => {
    server = await startTestServer();
    const add = await server.api("POST", "/service/devices_manage/device_add", { body: ORIGINAL_DEVICE_ADD });
    const id = add.body.data.device_id;
    const offline = await server.api("GET", `/service/devices_manage/device_statusInfo_query/${id}`);
    expect(offline.body).toEqual({ status: "success", data: { device_id: id, dev_state: "offline" } });
    const { device } = await WsDevice.connect(server.wsUrl, {
      deviceId: id,
      secret: ORIGINAL_DEVICE_ADD.password,
    });
    device.send({ type: "status", ts: 1700000000000, data: { cpu: { usagePercent: 3 } } });
    await expect
      .poll(
        async () =>
          (await server.api("GET", `/service/devices_manage/device_statusInfo_query/${id}`)).body.data.cpu,
      )
      .toEqual({ usagePercent: 3 });
    const online = await server.api("GET", `/service/devices_manage/device_statusInfo_query/${id}`);
    expect(online.body.data).toMatchObject({ device_id: id, dev_state: "online", ts: 1700000000000 });
    const unknown = await server.api("GET", "/service/devices_manage/device_statusInfo_query/99999");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: "fail", type: "DEVICEOP_ERROR" });
    await device.close();
  });

  it.each([
    ["restart", {}, "system.reboot", {}],
    ["upload_log", {}, "logs.upload", {}],
    ["upload_log", { remoteDir: "/srv/logs" }, "logs.upload", { remoteDir: "/srv/logs" }],
    ["my_script", { x: 1 }, "my_script", { x: 1 }],
  ])("give_order %s → method %s, waits for the result", async (order, params, method, expected) => {
    server = await startTestServer();
    const add = await server.api("POST", "/service/devices_manage/device_add", { body: ORIGINAL_DEVICE_ADD });
    const id = add.body.data.device_id;
    const { device } = await WsDevice.connect(server.wsUrl, {
      deviceId: id,
      secret: ORIGINAL_DEVICE_ADD.password,
    });
    const pending = server.api("POST", "/service/devices_manage/give_order", {
      body: { device_id: id, order, params },
    });
    const cmd = await device.next("cmd");
    expect(cmd.method).toBe(method);
    expect(cmd.params).toEqual(expected);
    expect(cmd.timeoutMs).toBeLessThanOrEqual(10_000);
    device.send({ type: "ack", id: cmd.id });
    device.send({ type: "result", id: cmd.id, ok: true, data: { done: order } });
    const response = await pending;
    expect(response.body).toEqual({ status: "success", data: { done: order } });
    await device.close();
  });

  it("give_order to an offline device → 409 fail envelope; a device error → 400 DEVICEOP_ERROR", async () => {
    server = await startTestServer();
    const add = await server.api("POST", "/service/devices_manage/device_add", { body: ORIGINAL_DEVICE_ADD });
    const id = add.body.data.device_id;
    const offline = await server.api("POST", "/service/devices_manage/give_order", {
      body: { device_id: id, order: "restart" },
    });
    expect(offline.status).toBe(409);
    expect(offline.body).toMatchObject({ status: "fail", type: "DEVICEOP_ERROR" });
    const { device } = await WsDevice.connect(server.wsUrl, {
      deviceId: id,
      secret: ORIGINAL_DEVICE_ADD.password,
    });
    const pending = server.api("POST", "/service/devices_manage/give_order", {
      body: { device_id: id, order: "nope" },
    });
    const cmd = await device.next("cmd");
    device.send({
      type: "result",
      id: cmd.id,
      ok: false,
      error: { code: "method_not_found", message: "no executor for nope" },
    });
    const failed = await pending;
    expect(failed.status).toBe(400);
    expect(failed.body).toEqual({ status: "fail", type: "DEVICEOP_ERROR", message: "no executor for nope" });
    await device.close();
  });
});
