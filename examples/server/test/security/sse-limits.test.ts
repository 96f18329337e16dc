import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WsDevice } from "../../../../packages/cloud-sdk/test/support/ws-device.js";
import { startTestServer, type TestServer } from "../support/server-fixture.js";

/** #21.6: a slow or greedy event-stream client cannot grow the server's memory or hold unbounded streams. */
describe("security: SSE backpressure and streams per token", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      overrides: { sse: { streamsPerToken: 3, maxBufferBytes: 256 * 1024, closeGraceMs: 30_000 } },
    });
  });
  afterAll(() => server?.close());

  const open = (token: string, signal?: AbortSignal) =>
    fetch(`${server.url}/api/v1/events?types=presence`, {
      headers: { authorization: `Bearer ${token}` },
      signal,
    });

  it("a client that stops reading is closed with event slow_consumer once its buffer passes the bound", async () => {
    // The attacker: a raw socket that sends the request, then never reads.
    const socket = connect(new URL(server.url).port as unknown as number, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      `GET /api/v1/events?types=status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.admin}\r\n\r\n`,
    );
    socket.pause();
    await expect
      .poll(() => server.deps.cloud.events.listenerCount("event"), { timeout: 5_000 })
      .toBeGreaterThan(0);

    // A real device floods status reports of ~60 KB: each becomes a status event of that size.
    const created = await server.api("POST", "/api/v1/devices", { body: { name: "chatty" } });
    const { device } = await WsDevice.connect(server.wsUrl, {
      deviceId: created.body.id,
      secret: created.body.secret,
    });
    const blob = Array(2).fill("s".repeat(30_000));
    for (let i = 0; i < 600; i++)
      device.send({ type: "status", ts: Date.now() - 600 + i, data: { blob } } as never);

    const metrics = async () => (await server.api("GET", "/metrics", { token: null })).body as string;
    await expect
      .poll(metrics, { timeout: 60_000, interval: 200 })
      .toMatch(/cloudedge_sse_slow_closed_total 1/);
    // What the attacker sees once it reads: the events it was sent, then the reason, then the end.
    let text = "";
    socket.on("data", (chunk) => (text += chunk));
    const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.resume();
    await ended;
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain('event: slow_consumer\ndata: {"code":"slow_consumer"');
    // The server dropped what it held for the attacker: far less than the ~36 MB it was given.
    expect(text.length).toBeLessThan(36_000_000);
    expect(await metrics()).toMatch(/cloudedge_sse_streams 0/);
    await device.close();
  }, 120_000);

  it("a token may hold only streamsPerToken streams: one more is 429 too_many_streams, other tokens unaffected", async () => {
    const created = await server.api("POST", "/api/v1/tokens", {
      body: { name: "greedy", scopes: ["read"] },
    });
    const greedy = created.body.token as string;
    const aborts = [new AbortController(), new AbortController(), new AbortController()];
    const streams = await Promise.all(aborts.map((a) => open(greedy, a.signal)));
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
    const refused = await open(greedy);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(await refused.json()).toMatchObject({ code: "too_many_streams", status: 429, max: 3 });
    const other = new AbortController();
    expect((await open(server.admin, other.signal)).status).toBe(200);
    // Closing one frees its place.
    aborts[0]?.abort();
    await expect
      .poll(async () => {
        const again = await open(greedy);
        if (again.status === 200) await again.body?.cancel();
        return again.status;
      })
      .toBe(200);
    for (const a of [...aborts, other]) a.abort();
    expect(await (await server.api("GET", "/metrics", { token: null })).body).toMatch(
      /cloudedge_sse_refused_total [1-9]/,
    );
  });
});
