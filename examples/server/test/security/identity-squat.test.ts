// Issue #21.10: (serialNumber, model) is server-owned — a device's hello cannot set it, so no
// device can take the pair another one will register with.
import { afterEach, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server-fixture.js";
import { summary, tryHello } from "./attacker.js";

let server: TestServer;
afterEach(() => server.close());

it("a hello claiming another device's (serialNumber, model) changes nothing; the genuine registration gets 201 and logs in by it", async () => {
  server = await startTestServer();
  const squatter = (await server.api("POST", "/api/v1/devices", { body: { name: "squatter" } })).body;
  const nics = [{ type: "ethernet", name: "eth0", mac: "00:11:22:33:44:55" }];
  const session = await tryHello(server.wsUrl, {
    deviceId: squatter.id,
    secret: squatter.secret,
    hardware: { serialNumber: "SN-GENUINE", model: "GW-200", nics },
  });
  expect(summary(session)).toBe("welcome");
  await expect
    .poll(async () => (await server.api("GET", `/api/v1/devices/${squatter.id}`)).body.hardware.nics)
    .toEqual(nics);
  expect((await server.api("GET", `/api/v1/devices/${squatter.id}`)).body.hardware).toEqual({ nics });

  const genuine = await server.api("POST", "/api/v1/devices", {
    body: { name: "genuine", hardware: { serialNumber: "SN-GENUINE", model: "GW-200" } },
  });
  expect(genuine.status).toBe(201);
  const login = await tryHello(server.wsUrl, {
    serialNumber: "SN-GENUINE",
    model: "GW-200",
    secret: genuine.body.secret,
  });
  expect(login.welcome?.deviceId).toBe(genuine.body.id);
});

it("an operator can still set the pair (409 when another device holds it)", async () => {
  server = await startTestServer();
  const a = (
    await server.api("POST", "/api/v1/devices", {
      body: { name: "a", hardware: { serialNumber: "S", model: "M" } },
    })
  ).body;
  const b = (await server.api("POST", "/api/v1/devices", { body: { name: "b" } })).body;
  const taken = await server.api("PATCH", `/api/v1/devices/${b.id}`, {
    body: { hardware: { serialNumber: "S", model: "M" } },
  });
  expect(taken.status).toBe(409);
  expect(taken.body.code).toBe("device_exists");
  const moved = await server.api("PATCH", `/api/v1/devices/${a.id}`, {
    body: { hardware: { serialNumber: "S2" } },
  });
  expect(moved.status).toBe(200);
  expect(moved.body.hardware).toMatchObject({ serialNumber: "S2", model: "M" });
});
