import { request } from "node:http";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server-fixture.js";

/** The server's log lines, as parsed JSON. */
const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
    done();
  },
});

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ overrides: { logger: pino({ level: "info" }, sink) } });
});
afterAll(async () => {
  await server?.close();
});

async function until<T>(find: () => T | undefined): Promise<T> {
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a client that goes away mid-request", () => {
  it("is logged as 'client went away' (499), not as a 500 unhandled error", async () => {
    const url = new URL("/api/v1/devices", server.url);
    const req = request(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${server.admin}`,
        "content-type": "application/json",
        "content-length": "1000",
        "x-request-id": "gone-1",
      },
    });
    req.on("error", () => undefined);
    // Half a body, then the client hangs up: the server's body read fails with "aborted".
    req.write('{"name":"half');
    await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();

    const logged = await until(() =>
      lines.find((l) => l["requestId"] === "gone-1" && l["msg"] === "request"),
    );
    expect(logged["status"]).toBe(499);
    const mine = lines.filter((l) => l["requestId"] === "gone-1");
    expect(mine.map((l) => l["msg"])).toContain("client went away");
    expect(mine.filter((l) => l["msg"] === "unhandled error")).toEqual([]);
    expect(mine.every((l) => (l["level"] as number) < 50)).toBe(true);

    // The server answers the next request as usual.
    expect((await server.api("GET", "/api/v1/devices")).status).toBe(200);
  });
});
