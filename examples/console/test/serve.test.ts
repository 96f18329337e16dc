import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Koa from "koa";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { problemMiddleware } from "../../server/src/http/problem.js";
import { CONSOLE_CSP, consoleMiddleware, defaultConsoleDir } from "../../server/src/routes/console.js";

// The reference server's console middleware over real HTTP: what it serves, with which headers,
// and what it refuses.

const dir = mkdtempSync(join(tmpdir(), "console-dist-"));
const servers: Array<ReturnType<Koa["listen"]>> = [];

async function serve(root: string): Promise<string> {
  const app = new Koa();
  app.use(problemMiddleware(pino({ level: "silent" })));
  app.use(async (ctx, next) => {
    if (ctx.path === "/api/v1/ping") ctx.body = { pong: true };
    else await next();
  });
  app.use(consoleMiddleware(root));
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((resolve) => server.once("listening", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let base: string;
beforeAll(async () => {
  mkdirSync(join(dir, "assets"), { recursive: true });
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>console</title>");
  writeFileSync(join(dir, "assets", "main-ABC123.js"), "console.log(1)");
  writeFileSync(join(dir, "..", "outside-secret.txt"), "nope");
  base = await serve(dir);
});

afterAll(() => {
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(dir, "..", "outside-secret.txt"), { force: true });
});

describe("console middleware", () => {
  it("serves index.html at / with the strict CSP, revalidated every time", async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).not.toContain("unsafe");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    // node:http, not fetch: fetch adds `Cache-Control: no-cache` to conditional requests.
    const status = await new Promise((resolve, reject) =>
      get(`${base}/`, { headers: { "if-none-match": response.headers.get("etag") as string } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).once("error", reject),
    );
    expect(status).toBe(304);
  });

  it("serves hashed assets as immutable, and index.html for the SPA's routes", async () => {
    const asset = await fetch(`${base}/assets/main-ABC123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("text/javascript");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await asset.text()).toBe("console.log(1)");
    for (const path of ["/devices/123", "/groups", "/whatever/deep/link"]) {
      const page = await fetch(`${base}${path}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>console</title>");
    }
  });

  it("answers a missing asset, a path outside the build and API paths with problems, not the page", async () => {
    const missing = await fetch(`${base}/assets/gone-1234.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    for (const path of ["/..%2Foutside-secret.txt", "/assets/..%2F..%2Foutside-secret.txt"]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain("nope");
    }
    expect((await (await fetch(`${base}/api/v1/nothing`)).json()).code).toBe("route_not_found");
    expect(await (await fetch(`${base}/api/v1/ping`)).json()).toEqual({ pong: true });
    expect((await fetch(`${base}/`, { method: "POST" })).status).toBe(404);
  });

  it("answers 503 console_unavailable when the console is not built", async () => {
    const url = await serve(join(dir, "no-such-dir"));
    const response = await fetch(`${url}/devices/1`);
    expect(response.status).toBe(503);
    expect((await response.json()).code).toBe("console_unavailable");
    expect((await fetch(`${url}/api/v1/ping`)).status).toBe(200);
  });

  it("finds the built console through the @cloudedge/console package", () => {
    expect(defaultConsoleDir()).toBe(join(import.meta.dirname, "..", "dist"));
  });
});
