import { existsSync } from "node:fs";
import type http from "node:http";
import { join } from "node:path";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHub, type TestHub } from "./support/hub.js";

// The root export bundled for the browser, running in real headless Chromium against the real hub.

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const root = join(import.meta.dirname, "..");

let bundle: string;
let hub: TestHub;
let browser: Browser;

const page = (deviceId: string, secret: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>edge-sdk in a browser</title></head><body>
<script src="/edge-sdk.js"></script>
<script>
  const { EdgeClient } = window.CloudedgeEdge;
  const client = new EdgeClient({
    url: "ws://" + location.host + "/ws",
    deviceId: ${JSON.stringify(deviceId)},
    secret: ${JSON.stringify(secret)},
    agent: { name: "browser-sim", version: "1.0" },
  });
  client.handle("browser.echo", (params) => ({ params, userAgent: navigator.userAgent, online: client.online }));
  client.on("online", (info) => { window.__online = info; });
  client.start();
  window.__client = client;
</script></body></html>`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's chromium (.ci/ensure-tools.sh does)`,
    );
  const result = await build({
    entryPoints: [join(root, "src/index.ts")],
    bundle: true,
    platform: "browser",
    format: "iife",
    globalName: "CloudedgeEdge",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  const nodeOnly = inputs.filter((file) => file.startsWith("node:") || file.includes("/ws/lib/"));
  if (nodeOnly.length > 0) throw new Error(`browser bundle pulled in Node-only code: ${nodeOnly.join(", ")}`);
  bundle = result.outputFiles[0]!.text;
  let pageHtml = "";
  const onRequest: http.RequestListener = (req, res) => {
    if (req.url === "/edge-sdk.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
    } else if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(pageHtml);
    } else {
      res.writeHead(404).end();
    }
  };
  hub = await startHub({ onRequest });
  const { device, secret } = await hub.cloud.devices.register({ name: "browser" });
  pageHtml = page(device.id, secret);
  (hub as TestHub & { deviceId: string }).deviceId = device.id;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
});

describe("EdgeClient in headless Chromium", () => {
  it("bundles without Node built-ins", () => {
    expect(bundle).not.toMatch(/require\(["']node:|from\s*["']node:/);
    expect(bundle.length).toBeGreaterThan(10_000);
  });

  it("connects from a page, receives a command and answers it", async () => {
    const deviceId = (hub as TestHub & { deviceId: string }).deviceId;
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (error) => errors.push(error.message));
    await tab.goto(`http://127.0.0.1:${hub.port}/`);
    await tab.waitForFunction(() => (window as { __online?: unknown }).__online !== undefined, undefined, {
      timeout: 15_000,
    });
    expect(hub.cloud.hub.session(deviceId)?.agent).toEqual({ name: "browser-sim", version: "1.0" });
    const result = (await hub.cloud.broker.call(
      deviceId,
      "browser.echo",
      { n: 42 },
      { timeoutMs: 10_000 },
    )) as {
      params: unknown;
      userAgent: string;
      online: boolean;
    };
    expect(result.params).toEqual({ n: 42 });
    expect(result.online).toBe(true);
    expect(result.userAgent).toContain("Chrome");
    expect(errors).toEqual([]);
    await tab.evaluate(() =>
      (window as unknown as { __client: { close(): Promise<void> } }).__client.close(),
    );
    await tab.close();
  });
});
