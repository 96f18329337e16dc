import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../src/app.js";
import { startTestServer, type TestServer } from "./support/server-fixture.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const DESIGN_TABLE: Array<[string, string]> = [
  ["get", "/healthz"],
  ["get", "/readyz"],
  ["post", "/api/v1/devices"],
  ["get", "/api/v1/devices"],
  ["get", "/api/v1/devices/{id}"],
  ["patch", "/api/v1/devices/{id}"],
  ["delete", "/api/v1/devices/{id}"],
  ["post", "/api/v1/devices/{id}/secret"],
  ["get", "/api/v1/devices/{id}/status"],
  ["get", "/api/v1/devices/{id}/status/history"],
  ["get", "/api/v1/devices/{id}/state"],
  ["patch", "/api/v1/devices/{id}/state/desired"],
  ["post", "/api/v1/devices/{id}/commands"],
  ["get", "/api/v1/devices/{id}/commands"],
  ["get", "/api/v1/devices/{id}/commands/{cid}"],
  ["delete", "/api/v1/devices/{id}/commands/{cid}"],
  ["post", "/api/v1/groups"],
  ["get", "/api/v1/groups"],
  ["get", "/api/v1/groups/{id}"],
  ["patch", "/api/v1/groups/{id}"],
  ["delete", "/api/v1/groups/{id}"],
  ["get", "/api/v1/groups/{id}/devices"],
  ["put", "/api/v1/groups/{id}/devices/{deviceId}"],
  ["delete", "/api/v1/groups/{id}/devices/{deviceId}"],
  ["get", "/api/v1/devices/{id}/events"],
  ["post", "/api/v1/groups/{id}/commands"],
  ["get", "/api/v1/events"],
  ["post", "/api/v1/tokens"],
  ["get", "/api/v1/tokens"],
  ["delete", "/api/v1/tokens/{id}"],
  ["post", "/service/devices_manage/device_add"],
  ["get", "/service/devices_manage/device_statusInfo_query/{device_id}"],
  ["post", "/service/devices_manage/give_order"],
];

describe("OpenAPI 3.1", () => {
  it("is served at /api/v1/openapi.json", async () => {
    const response = await server.api("GET", "/api/v1/openapi.json", { token: null });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe("3.1.0");
  });

  it("documents every row of DESIGN's REST table", async () => {
    const doc = (await server.api("GET", "/api/v1/openapi.json")).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const [method, path] of DESIGN_TABLE)
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  it("matches the committed docs/openapi.json (run `npm run build && npm run openapi -w @cloudedge/server` to refresh)", () => {
    const committed = JSON.parse(
      readFileSync(join(import.meta.dirname, "../../../docs/openapi.json"), "utf8"),
    );
    expect(committed).toEqual(openApiDocument(server.deps));
  });
});
