import type { CloudEvent } from "@cloudedge/cloud-sdk";
import { afterEach, beforeEach, expect, it } from "vitest";
import { WsDevice } from "../../../packages/cloud-sdk/test/support/ws-device.js";
import { startTestServer, type TestServer } from "./support/server-fixture.js";

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

async function connected(name: string) {
  const created = await server.api("POST", "/api/v1/devices", { body: { name } });
  const { device } = await WsDevice.connect(server.wsUrl, {
    deviceId: created.body.id,
    secret: created.body.secret,
  });
  return { id: created.body.id as string, device };
}

it("SSE serves only its four event types: the cluster's device_deleted never reaches a stream", async () => {
  const onBus: CloudEvent[] = [];
  server.cloud.events.on("event", (event) => onBus.push(event));
  const controller = new AbortController();
  const response = await fetch(`${server.url}/api/v1/events`, {
    headers: { authorization: `Bearer ${server.admin}` },
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  let text = "";
  const first = await connected("deleted");
  expect((await server.api("DELETE", `/api/v1/devices/${first.id}`)).status).toBe(204);
  const second = await connected("after");
  while (!text.includes(`"deviceId":"${second.id}"`)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  expect(onBus.map((e) => e.type)).toContain("device_deleted");
  expect(text).not.toContain("device_deleted");
  // Online, offline (auth_revoked), the next device online: numbered without a gap.
  expect([...text.matchAll(/^id: (\d+)\nevent: (\w+)$/gm)].map((m) => [m[1], m[2]])).toEqual([
    ["1", "presence"],
    ["2", "presence"],
    ["3", "presence"],
  ]);
  controller.abort();
  await Promise.all([first.device.close(), second.device.close()]);
});
