import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WsDevice } from "../../../packages/cloud-sdk/test/support/ws-device.js";
import { startTestServer, type TestServer } from "./support/server-fixture.js";

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

async function registerAndConnect(name = "gw") {
  const created = await server.api("POST", "/api/v1/devices", { body: { name } });
  expect(created.status).toBe(201);
  const { device, welcome } = await WsDevice.connect(server.wsUrl, {
    deviceId: created.body.id,
    secret: created.body.secret,
  });
  return { id: created.body.id as string, secret: created.body.secret as string, device, welcome };
}

/** Answers every cmd: ack, then result ok with {echo: params}. */
function autoAnswer(device: WsDevice) {
  device.ws.on("message", (data: Buffer) => {
    const pdu = JSON.parse(data.toString());
    if (pdu.type === "cmd") {
      device.send({ type: "ack", id: pdu.id });
      device.send({ type: "result", id: pdu.id, ok: true, data: { echo: pdu.params ?? null } });
    }
  });
}

describe("devices", () => {
  it("registers (201 + secret once), reads, lists, updates and deletes", async () => {
    const created = await server.api("POST", "/api/v1/devices", {
      body: {
        name: "gw-1",
        type: "gateway",
        labels: { site: "berlin" },
        hardware: {
          serialNumber: "SN-1",
          model: "GW200",
          nics: [{ type: "ethernet", mac: "00:11:22:33:44:55", ipv4: "10.0.0.2" }],
        },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "gw-1",
      type: "gateway",
      labels: { site: "berlin" },
      online: false,
      groupIds: [],
      disabled: false,
    });
    expect(created.body.id).toMatch(/^\d+$/);
    expect(created.body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.headers.get("location")).toBe(`/api/v1/devices/${created.body.id}`);

    const read = await server.api("GET", `/api/v1/devices/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    expect(JSON.stringify(read.body)).not.toMatch(/\$2[aby]\$/);
    expect(read.body.status).toBeNull();

    const patched = await server.api("PATCH", `/api/v1/devices/${created.body.id}`, {
      body: { description: "rooftop", labels: { site: "paris" } },
    });
    expect(patched.body).toMatchObject({ description: "rooftop", labels: { site: "paris" } });

    await server.api("POST", "/api/v1/devices", { body: { name: "other" } });
    const byLabel = await server.api("GET", "/api/v1/devices?label=site=paris");
    expect(byLabel.body.items.map((d: { name: string }) => d.name)).toEqual(["gw-1"]);
    const byText = await server.api("GET", "/api/v1/devices?q=GW200");
    expect(byText.body.items).toHaveLength(1);

    expect((await server.api("DELETE", `/api/v1/devices/${created.body.id}`)).status).toBe(204);
    expect((await server.api("GET", `/api/v1/devices/${created.body.id}`)).body.code).toBe(
      "device_not_found",
    );
  });

  it("pages with cursors", async () => {
    for (let i = 0; i < 5; i++) await server.api("POST", "/api/v1/devices", { body: { name: `d${i}` } });
    const first = await server.api("GET", "/api/v1/devices?limit=2");
    expect(first.body.items.map((d: { name: string }) => d.name)).toEqual(["d0", "d1"]);
    const second = await server.api("GET", `/api/v1/devices?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((d: { name: string }) => d.name)).toEqual(["d2", "d3"]);
    const third = await server.api("GET", `/api/v1/devices?limit=2&cursor=${second.body.nextCursor}`);
    expect(third.body.items.map((d: { name: string }) => d.name)).toEqual(["d4"]);
    expect(third.body.nextCursor).toBeUndefined();
  });

  it("409 device_exists for a taken (serialNumber, model)", async () => {
    const body = { name: "a", hardware: { serialNumber: "S", model: "M" } };
    await server.api("POST", "/api/v1/devices", { body });
    const again = await server.api("POST", "/api/v1/devices", { body: { ...body, name: "b" } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: "device_exists",
      type: "https://cloudedge.dev/problems/device_exists",
    });
    expect(again.headers.get("content-type")).toContain("application/problem+json");
  });

  it("shows presence, latest status and history of a connected device", async () => {
    const { id, device } = await registerAndConnect();
    const ts = Date.now();
    device.send({
      type: "status",
      ts,
      data: {
        cpu: { usagePercent: 12 },
        memory: { totalBytes: 100, usedBytes: 50 },
        disks: [{ mount: "/", totalBytes: 10, usedBytes: 5 }],
      },
    });
    await expect.poll(async () => (await server.api("GET", `/api/v1/devices/${id}/status`)).status).toBe(200);
    const read = await server.api("GET", `/api/v1/devices/${id}`);
    expect(read.body).toMatchObject({ online: true, status: { cpu: { usagePercent: 12 }, ts } });
    const history = await server.api("GET", `/api/v1/devices/${id}/status/history?order=asc`);
    expect(history.body.items).toHaveLength(1);
    const online = await server.api("GET", "/api/v1/devices?online=true");
    expect(online.body.items.map((d: { id: string }) => d.id)).toEqual([id]);
    await device.close();
  });

  it("rotating the secret returns a new one and closes the session", async () => {
    const { id, device, secret } = await registerAndConnect();
    const rotated = await server.api("POST", `/api/v1/devices/${id}/secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(secret);
    expect((await device.closed).code).toBe(4006);
  });

  it("records the device event log", async () => {
    const { id, device } = await registerAndConnect();
    await device.close();
    await expect
      .poll(async () =>
        (await server.api("GET", `/api/v1/devices/${id}/events`)).body.items.map(
          (e: { kind: string }) => e.kind,
        ),
      )
      .toEqual(expect.arrayContaining(["registered", "connected", "disconnected"]));
    const filtered = await server.api("GET", `/api/v1/devices/${id}/events?kind=connected`);
    expect(filtered.body.items.every((e: { kind: string }) => e.kind === "connected")).toBe(true);
  });
});

describe("commands", () => {
  it("wait: true returns 200 with the result; without wait 202 with the command", async () => {
    const { id, device } = await registerAndConnect();
    autoAnswer(device);
    const waited = await server.api("POST", `/api/v1/devices/${id}/commands`, {
      body: { method: "system.ping", params: { a: 1 }, wait: true },
    });
    expect(waited.status).toBe(200);
    expect(waited.body).toMatchObject({
      status: "SUCCEEDED",
      result: { echo: { a: 1 } },
      method: "system.ping",
    });
    const queued = await server.api("POST", `/api/v1/devices/${id}/commands`, {
      body: { method: "system.info" },
    });
    expect(queued.status).toBe(202);
    await expect
      .poll(
        async () => (await server.api("GET", `/api/v1/devices/${id}/commands/${queued.body.id}`)).body.status,
      )
      .toBe("SUCCEEDED");
    const list = await server.api("GET", `/api/v1/devices/${id}/commands`);
    expect(list.body.items.map((c: { method: string }) => c.method)).toEqual(["system.info", "system.ping"]);
    await device.close();
  });

  it("wait: true with a silent device → 504 problem carrying the command id", async () => {
    const { id, device } = await registerAndConnect();
    const response = await server.api("POST", `/api/v1/devices/${id}/commands`, {
      body: { method: "slow", timeoutMs: 300, wait: true },
    });
    expect(response.status).toBe(504);
    expect(response.body.code).toBe("delivery_timeout");
    expect(response.body.commandId).toMatch(/^\d+$/);
    expect(
      (await server.api("GET", `/api/v1/devices/${id}/commands/${response.body.commandId}`)).body.status,
    ).toBe("TIMED_OUT");
    await device.close();
  });

  it("acknowledged, requeued when the link dropped, then the deadline passed → 504 result_timeout (#20.4)", async () => {
    const { id, device } = await registerAndConnect();
    device.ws.on("message", (data: Buffer) => {
      const pdu = JSON.parse(data.toString());
      if (pdu.type === "cmd") device.send({ type: "ack", id: pdu.id });
    });
    const waited = server.api("POST", `/api/v1/devices/${id}/commands`, {
      body: { method: "slow", timeoutMs: 1_500, ttlMs: 60_000, wait: true },
    });
    const commands = async () => (await server.api("GET", `/api/v1/devices/${id}/commands`)).body.items;
    await expect.poll(async () => (await commands())[0]?.status).toBe("DELIVERED");
    device.ws.terminate();
    await expect.poll(async () => (await commands())[0]?.status).toBe("QUEUED");
    const response = await waited;
    expect(response.status).toBe(504);
    expect(response.body.code).toBe("result_timeout");
    const record = await server.api("GET", `/api/v1/devices/${id}/commands/${response.body.commandId}`);
    expect(record.body).toMatchObject({
      status: "TIMED_OUT",
      attempts: 1,
      acknowledgedAt: expect.any(Number),
      error: { code: "result_timeout", message: "no result before the deadline" },
    });
  });

  it("wait: true that ends before the command does → 504 result_timeout with the command id and its status", async () => {
    // A server whose deadline sweep is far off: the wait (timeoutMs + 1 s) ends first.
    const slow = await startTestServer({ sweepMs: 600_000 });
    try {
      const created = await slow.api("POST", "/api/v1/devices", { body: { name: "late" } });
      const { device } = await WsDevice.connect(slow.wsUrl, {
        deviceId: created.body.id,
        secret: created.body.secret,
      });
      const response = await slow.api("POST", `/api/v1/devices/${created.body.id}/commands`, {
        body: { method: "slow", timeoutMs: 200, wait: true },
      });
      expect(response.status).toBe(504);
      // The command's status as it stood; `status` is the problem's HTTP status (RFC 9457).
      expect(response.body).toMatchObject({ code: "result_timeout", status: 504, commandStatus: "SENT" });
      expect(response.headers.get("location")).toBe(
        `/api/v1/devices/${created.body.id}/commands/${response.body.commandId}`,
      );
      await device.close();
    } finally {
      await slow.close();
    }
  });

  it("offline without TTL → 409 device_offline with the command id; with TTL → 202 QUEUED, cancelable", async () => {
    const created = await server.api("POST", "/api/v1/devices", { body: { name: "off" } });
    const offline = await server.api("POST", `/api/v1/devices/${created.body.id}/commands`, {
      body: { method: "x" },
    });
    expect(offline.status).toBe(409);
    expect(offline.body).toMatchObject({ code: "device_offline" });
    expect(offline.body.commandId).toMatch(/^\d+$/);
    const queued = await server.api("POST", `/api/v1/devices/${created.body.id}/commands`, {
      body: { method: "x", ttlMs: 60_000 },
    });
    expect(queued.body.status).toBe("QUEUED");
    const canceled = await server.api(
      "DELETE",
      `/api/v1/devices/${created.body.id}/commands/${queued.body.id}`,
    );
    expect(canceled.body.status).toBe("CANCELED");
    const again = await server.api("DELETE", `/api/v1/devices/${created.body.id}/commands/${queued.body.id}`);
    expect(again.body.code).toBe("not_cancelable");
  });

  it("fans out to a group", async () => {
    const a = await registerAndConnect("a");
    const b = await registerAndConnect("b");
    autoAnswer(a.device);
    autoAnswer(b.device);
    const group = await server.api("POST", "/api/v1/groups", { body: { name: "all" } });
    for (const id of [a.id, b.id])
      expect((await server.api("PUT", `/api/v1/groups/${group.body.id}/devices/${id}`)).status).toBe(204);
    const fan = await server.api("POST", `/api/v1/groups/${group.body.id}/commands`, {
      body: { method: "system.ping" },
    });
    expect(fan.status).toBe(202);
    expect(fan.body.items.map((i: { deviceId: string }) => i.deviceId).sort()).toEqual([a.id, b.id].sort());
    await a.device.close();
    await b.device.close();
  });
});

describe("state", () => {
  it("patches desired with If-Match, pushes it, and shows the delta", async () => {
    const { id, device } = await registerAndConnect();
    const first = await server.api("PATCH", `/api/v1/devices/${id}/state/desired`, {
      body: { logLevel: "debug" },
      headers: { "if-match": '"0"' },
    });
    expect(first.status).toBe(200);
    expect(first.headers.get("etag")).toBe('"1"');
    expect((await device.next("desired")).patch).toEqual({ logLevel: "debug" });
    const stale = await server.api("PATCH", `/api/v1/devices/${id}/state/desired`, {
      body: { logLevel: "info" },
      headers: { "if-match": "0" },
    });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: "version_mismatch", currentVersion: 1 });
    device.send({ type: "reported", version: 1, patch: { logLevel: "info" } });
    await expect
      .poll(async () => (await server.api("GET", `/api/v1/devices/${id}/state`)).body.reportedVersion)
      .toBe(1);
    const state = await server.api("GET", `/api/v1/devices/${id}/state`);
    expect(state.body).toMatchObject({
      desired: { logLevel: "debug" },
      reported: { logLevel: "info" },
      delta: { logLevel: "debug" },
    });
    await device.close();
  });
});

describe("groups", () => {
  it("creates, renames, lists members, removes and deletes; names are unique", async () => {
    const group = await server.api("POST", "/api/v1/groups", {
      body: { name: "east", description: "east coast" },
    });
    expect(group.status).toBe(201);
    expect((await server.api("POST", "/api/v1/groups", { body: { name: "east" } })).status).toBe(409);
    const renamed = await server.api("PATCH", `/api/v1/groups/${group.body.id}`, {
      body: { name: "east-1" },
    });
    expect(renamed.body.name).toBe("east-1");
    const device = await server.api("POST", "/api/v1/devices", { body: { name: "d" } });
    await server.api("PUT", `/api/v1/groups/${group.body.id}/devices/${device.body.id}`);
    expect((await server.api("GET", `/api/v1/groups/${group.body.id}/devices`)).body.items).toEqual([
      device.body.id,
    ]);
    expect((await server.api("GET", `/api/v1/devices/${device.body.id}`)).body.groupIds).toEqual([
      group.body.id,
    ]);
    expect((await server.api("GET", `/api/v1/devices?group=${group.body.id}`)).body.items).toHaveLength(1);
    expect(
      (await server.api("DELETE", `/api/v1/groups/${group.body.id}/devices/${device.body.id}`)).status,
    ).toBe(204);
    expect((await server.api("DELETE", `/api/v1/groups/${group.body.id}`)).status).toBe(204);
    expect((await server.api("GET", `/api/v1/groups/${group.body.id}`)).body.code).toBe("group_not_found");
  });
});

describe("tokens and scopes", () => {
  it("an admin creates scoped tokens; read cannot write, write cannot administer; revoked tokens stop working", async () => {
    const read = await server.api("POST", "/api/v1/tokens", { body: { name: "ro", scopes: ["read"] } });
    expect(read.status).toBe(201);
    expect(read.body.token).toMatch(/^ce_/);
    const write = await server.api("POST", "/api/v1/tokens", { body: { name: "rw", scopes: ["write"] } });
    expect((await server.api("GET", "/api/v1/devices", { token: read.body.token })).status).toBe(200);
    const denied = await server.api("POST", "/api/v1/devices", {
      token: read.body.token,
      body: { name: "x" },
    });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: "forbidden", requiredScope: "write" });
    expect(
      (await server.api("POST", "/api/v1/devices", { token: write.body.token, body: { name: "x" } })).status,
    ).toBe(201);
    expect((await server.api("GET", "/api/v1/tokens", { token: write.body.token })).status).toBe(403);
    const list = await server.api("GET", "/api/v1/tokens");
    expect(JSON.stringify(list.body)).not.toContain(read.body.token);
    expect((await server.api("DELETE", `/api/v1/tokens/${read.body.id}`)).status).toBe(204);
    expect((await server.api("GET", "/api/v1/devices", { token: read.body.token })).body.code).toBe(
      "invalid_token",
    );
  });
});

describe("server-sent events", () => {
  it("streams presence and command events with keep-alives, and disconnects cleanly", async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/v1/events?types=presence,command`, {
      headers: { authorization: `Bearer ${server.admin}` },
      signal: controller.signal,
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    let text = "";
    const read = async (until: (t: string) => boolean) => {
      while (!until(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    const { id, device } = await registerAndConnect();
    autoAnswer(device);
    await server.api("POST", `/api/v1/devices/${id}/commands`, {
      body: { method: "system.ping", wait: true },
    });
    await read((t) => t.includes("SUCCEEDED") && t.includes(": keep-alive"));
    expect(text).toContain("event: presence");
    expect(text).toContain(`"deviceId":"${id}"`);
    expect(text).toContain("event: command");
    controller.abort();
    await device.close();
  });
});

describe("server-sent events and revoked tokens", () => {
  /** Opens a stream with `token` and returns everything it sent until it ended. */
  const streamUntilEnd = async (token: string) => {
    const response = await fetch(`${server.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return response.text();
  };
  const readToken = async () =>
    (await server.api("POST", "/api/v1/tokens", { body: { name: "sse", scopes: ["read"] } })).body;

  it("revoking a token ends its open streams at once with `event: unauthorized`; reconnecting gets 401", async () => {
    const token = await readToken();
    const other = await readToken();
    const ended = streamUntilEnd(token.token);
    const untouched = new AbortController();
    const otherResponse = await fetch(`${server.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${other.token}` },
      signal: untouched.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await server.api("DELETE", `/api/v1/tokens/${token.id}`)).status).toBe(204);
    const text = await ended;
    expect(text.endsWith("event: unauthorized\ndata: {}\n\n")).toBe(true);
    const again = await fetch(`${server.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${token.token}` },
    });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { code: string }).code).toBe("invalid_token");
    // The other token's stream is still open.
    expect(otherResponse.status).toBe(200);
    const reader = otherResponse.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    untouched.abort();
  });

  it("a token revoked behind this node's back (another node, or the store) ends the stream at the next keep-alive", async () => {
    const token = await readToken();
    const ended = streamUntilEnd(token.token);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // As another node would: straight in the shared store, this node's streams know nothing.
    expect(await server.store.tokens.delete(token.id)).toBe(true);
    const text = await ended; // the fixture's keep-alive is 200 ms
    expect(text).toContain(": keep-alive");
    expect(text.endsWith("event: unauthorized\ndata: {}\n\n")).toBe(true);
  });
});

describe("health, metrics and OpenAPI", () => {
  it("serves /healthz and /readyz without a token, and /metrics", async () => {
    expect((await server.api("GET", "/healthz", { token: null })).body).toEqual({ status: "ok" });
    expect((await server.api("GET", "/readyz", { token: null })).body).toMatchObject({ status: "ready" });
    const { device } = await registerAndConnect();
    const metrics = await server.api("GET", "/metrics", { token: null });
    expect(metrics.body).toContain("cloudedge_connected_devices 1");
    expect(metrics.body).toContain('cloudedge_handshakes_total{via="secret"} 1');
    expect(metrics.body).toContain("cloudedge_process_nodejs_eventloop_lag_seconds");
    await device.close();
  });

  it("/readyz says 503 store_unavailable when the database is gone", async () => {
    await server.store.close();
    const response = await server.api("GET", "/readyz", { token: null });
    expect(response.status).toBe(503);
    expect(response.body.code).toBe("store_unavailable");
  });
});
