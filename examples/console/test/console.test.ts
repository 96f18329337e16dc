import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { defineExecutor, EdgeClient } from "@cloudedge/edge-sdk";
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type Proc, ROOT, startAgentFromCommand, startServer } from "./support/setup.js";

// The console in real Chromium against the reference server and agent started as processes,
// the way the README tells a user to (npm start; the agent command line the dialog shows).

const IMAGES = join(ROOT, "docs/images");
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const HOSTILE_NAME = `<img src=x onerror="window.__pwned=1">`;
const HOSTILE_FIELD = `<script>window.__pwned=1</script>`;

let server: { proc: Proc; port: number; token: string; dir: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let agent: Proc | undefined;
let deviceId: string;
const pageErrors: string[] = [];

const base = () => `http://127.0.0.1:${server.port}`;
const api = async (method: string, path: string, body?: unknown, token = server.token) => {
  const response = await fetch(`${base()}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};
const deviceRow = (id: string) => page.locator(`tr[data-device-id="${id}"]`);
const shot = async (name: string, fullPage = false) => {
  await page.screenshot({ path: join(IMAGES, name), fullPage, animations: "disabled" });
};

beforeAll(async () => {
  mkdirSync(IMAGES, { recursive: true });
  browser = await launchChromium();
  server = await startServer();
  context = await browser.newContext({ viewport: DESKTOP, colorScheme: "light" });
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    // CSP violations are reported on the console: the console must need no exception to its policy.
    if (/Content Security Policy|Refused to/i.test(message.text())) pageErrors.push(message.text());
  });
}, 300_000);

afterAll(async () => {
  if (server && server.proc.child.exitCode !== null)
    console.error(`server exited early:\n${server.proc.stderr.slice(-3000)}`);
  await agent?.stop();
  await browser?.close();
  await server?.proc.stop();
  if (server) rmSync(server.dir, { recursive: true, force: true });
});

describe("web console in Chromium (server and agent as processes)", () => {
  it("is served at / with a strict CSP; an invalid token is refused, the bootstrap token signs in", async () => {
    const response = await page.goto(`${base()}/`);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    await page.getByLabel("API token").fill("ce_not-a-real-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("[data-code=invalid_token]").count()).toBe(1);

    await page.getByLabel("API token").fill(server.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Devices" }).waitFor();
    expect(page.url()).not.toContain(server.token);
    expect(await page.evaluate(() => sessionStorage.getItem("cloudedge.token"))).toBe(server.token);
    await page.locator(".live.open").first().waitFor();
  });

  it("registers a device through the dialog, showing the secret once and the agent command line", async () => {
    for (const [name, labels] of [
      ["kiosk-lobby", { site: "hq", role: "kiosk" }],
      ["edge-gw-berlin", { site: "berlin", role: "gateway" }],
    ] as const)
      expect((await api("POST", "/api/v1/devices", { name, labels })).status).toBe(201);
    await page.getByRole("button", { name: "Register device" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("gateway-lab-1");
    await dialog.getByLabel("Serial number").fill("SN-0042");
    await dialog.getByLabel("Model").fill("EG-200");
    await dialog.getByLabel("Labels").fill("site=lab\nrole=gateway");
    await dialog.getByRole("button", { name: "Register", exact: true }).click();
    deviceId = (await page.getByTestId("new-device-id").textContent()) as string;
    const secret = (await page.getByTestId("new-device-secret").textContent()) as string;
    const command = (await page.getByTestId("agent-command").textContent()) as string;
    expect(deviceId).toMatch(/^\d+$/);
    expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(command).toContain(`--server ws://127.0.0.1:${server.port}/ws --device-id ${deviceId}`);
    expect(command).toContain("--config examples/agent/agent.example.json");
    await page.getByRole("button", { name: "Done" }).click();
    await expect
      .poll(() => deviceRow(deviceId).locator("[data-online]").getAttribute("data-online"))
      .toBe("false");
    // The secret is not readable again.
    expect(JSON.stringify((await api("GET", `/api/v1/devices/${deviceId}`)).body)).not.toContain(secret);

    // Start the agent with exactly what the dialog showed; the row turns online without a reload.
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    agent = startAgentFromCommand(command, join(server.dir, "agent"));
    await agent.waitFor(/online as device/, 150_000);
    await expect
      .poll(() => deviceRow(deviceId).locator("[data-online]").getAttribute("data-online"), {
        timeout: 15_000,
      })
      .toBe("true");
    expect(
      await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
    ).toBe(true);
    await shot("console-devices-desktop.png");
    await page.setViewportSize(PHONE);
    await shot("console-devices-phone.png");
    await page.setViewportSize(DESKTOP);
  }, 200_000);

  it("the device page edits desired state with If-Match, shows reported following, and shows a conflict clearly", async () => {
    // The state arrives late (as on a loaded server): the editor stays read-only until it has
    // loaded, so an edit can neither be overwritten by it nor saved against no version.
    const slowState = async (route: Route) => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      await route.continue();
    };
    await page.route(/\/state$/, slowState, { times: 1 });
    await page.getByRole("link", { name: "gateway-lab-1" }).click();
    await page.getByRole("heading", { name: "gateway-lab-1" }).waitFor();
    const editor = page.getByLabel(/Edit desired state/);
    expect(await editor.getAttribute("readonly")).not.toBeNull();
    expect(await page.getByRole("button", { name: "Save desired" }).isDisabled()).toBe(true);
    await editor.fill(JSON.stringify({ statusIntervalMs: 1000, logLevel: "debug" }, null, 2));
    await page.getByRole("button", { name: "Save desired" }).click();
    await page.getByText("Saved as version 1.").waitFor();
    const row = page.getByTestId("state-table").locator('tr[data-key="logLevel"]');
    await expect.poll(() => row.getAttribute("data-pending"), { timeout: 15_000 }).toBe("false");
    expect(await row.locator("td").nth(1).textContent()).toBe('"debug"');

    // Someone else changes desired state while this edit is open; saving it is refused (412).
    await editor.fill(JSON.stringify({ statusIntervalMs: 1000, logLevel: "info" }, null, 2));
    expect(
      (await api("PATCH", `/api/v1/devices/${deviceId}/state/desired`, { logLevel: "warn" })).status,
    ).toBe(200);
    await page.getByText("changed on the server (now version 2)").waitFor();
    await page.getByRole("button", { name: "Save desired" }).click();
    const conflict = page.getByTestId("state-conflict");
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain("now version 2");
    await conflict.getByRole("button", { name: "Apply my edit on the latest" }).click();
    await page.getByRole("button", { name: "Save desired" }).click();
    await page.getByText("Saved as version 3.").waitFor();
    await expect
      .poll(async () => (await api("GET", `/api/v1/devices/${deviceId}/state`)).body.reported.logLevel, {
        timeout: 10_000,
      })
      .toBe("info");
  });

  it("status charts render points from the history and grow live; system.ping ends SUCCEEDED with its result", async () => {
    // The agent now reports every second (statusIntervalMs from the desired state above).
    await page.reload();
    await page.getByRole("heading", { name: "gateway-lab-1" }).waitFor();
    await expect
      .poll(async () => Number(await page.getByTestId("chart-cpu").getAttribute("data-points")), {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);
    expect(await page.getByTestId("chart-cpu").locator("canvas").count()).toBe(1);
    // Live: new reports are appended without a reload.
    const before = Number(await page.getByTestId("chart-cpu").getAttribute("data-points"));
    await expect
      .poll(async () => Number(await page.getByTestId("chart-cpu").getAttribute("data-points")), {
        timeout: 15_000,
      })
      .toBeGreaterThan(before + 1);

    expect(await page.getByText("SN-0042 / EG-200").count()).toBe(1);

    await page.getByLabel("Method").fill("system.ping");
    await page.getByRole("button", { name: "Send command" }).click();
    const watch = page.getByTestId("command-watch");
    await watch.locator("[data-status=SUCCEEDED]").waitFor({ timeout: 15_000 });
    expect(await watch.locator(".lifecycle li.done").count()).toBe(4);
    expect(await watch.locator("pre").textContent()).toContain('"pong": true');
    await page.getByTestId("command-history").locator("[data-status=SUCCEEDED]").first().waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot("console-device-desktop.png", true);
    await page.setViewportSize(PHONE);
    await page.locator("#status").evaluate((el) => el.scrollIntoView());
    await page.waitForTimeout(300);
    await shot("console-device-phone.png");
    await page.setViewportSize(DESKTOP);
  });

  it("groups: create, rename, add a member, send a group command and see the per-device result", async () => {
    await page.getByRole("link", { name: "Groups" }).click();
    await page.getByLabel("New group").fill("lab");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "lab" }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill("lab-gateways");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("heading", { name: "lab-gateways" }).waitFor();
    await page.getByLabel("Add a device").selectOption(deviceId);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByRole("heading", { name: "Members (1)" }).waitFor();
    await page.getByLabel("Method").fill("system.ping");
    await page.getByRole("button", { name: "Send command" }).click();
    const results = page.getByTestId("fan-out");
    await results.locator("[data-status=SUCCEEDED]").waitFor({ timeout: 15_000 });
    expect(await results.textContent()).toContain("gateway-lab-1");
    expect(await results.textContent()).toContain('"pong": true');
  });

  it("stopping the agent turns the device offline live; a command then shows the API's problem readably", async () => {
    await page
      .getByRole("region", { name: "Members (1)" })
      .getByRole("link", { name: "gateway-lab-1" })
      .click();
    await page.getByRole("heading", { name: "gateway-lab-1" }).waitFor();
    await page.locator(".page-head [data-online=true]").waitFor();
    await agent?.stop();
    await page.locator(".page-head [data-online=false]").waitFor({ timeout: 15_000 });
    await page.getByTestId("presence-history").getByText("disconnected").first().waitFor({ timeout: 10_000 });

    await page.getByLabel("Method").fill("system.ping");
    await page.getByRole("button", { name: "Send command" }).click();
    const error = page.locator("#commands [data-code=device_offline]");
    await error.waitFor();
    expect(await error.textContent()).toContain("The device is offline");

    await page.getByRole("link", { name: "Devices" }).first().click();
    await expect
      .poll(() => deviceRow(deviceId).locator("[data-online]").getAttribute("data-online"))
      .toBe("false");
  });

  it("XSS: device-provided strings (name, labels, status fields, results) render as text, never run", async () => {
    const created = await api("POST", "/api/v1/devices", {
      name: HOSTILE_NAME,
      labels: { note: HOSTILE_FIELD },
      description: HOSTILE_NAME,
    });
    expect(created.status).toBe(201);
    const device = new EdgeClient({
      url: `ws://127.0.0.1:${server.port}/ws`,
      deviceId: created.body.id,
      secret: created.body.secret,
      executors: [defineExecutor("evil.echo", () => ({ html: HOSTILE_NAME, script: HOSTILE_FIELD }))],
    });
    const online = new Promise((resolve) => device.once("online", resolve));
    await device.start();
    await online;
    try {
      await device.sendStatus({
        cpu: { usagePercent: 12 },
        disks: [{ mount: HOSTILE_NAME, totalBytes: 100, usedBytes: 40 }],
        note: HOSTILE_FIELD,
      } as Parameters<typeof device.sendStatus>[0]);

      await page.goto(`${base()}/`);
      const row = deviceRow(created.body.id);
      await row.waitFor();
      expect(await row.getByRole("link").textContent()).toBe(HOSTILE_NAME);
      expect(await row.textContent()).toContain(HOSTILE_FIELD);

      await row.getByRole("link").click();
      await page.locator("#device-title").waitFor();
      expect(await page.locator("#device-title").textContent()).toBe(HOSTILE_NAME);
      await expect
        .poll(async () => (await page.getByTestId("latest-status").textContent()) ?? "", { timeout: 10_000 })
        .toContain(HOSTILE_NAME);
      await page.getByText(/Other fields/).click();
      expect(await page.locator("#identity pre").textContent()).toContain(HOSTILE_FIELD);
      await expect
        .poll(async () => Number(await page.getByTestId("chart-disks").getAttribute("data-points")))
        .toBeGreaterThan(0);
      expect(await page.getByTestId("chart-disks").textContent()).toContain(HOSTILE_NAME);

      await page.getByLabel("Method").fill("evil.echo");
      await page.getByRole("button", { name: "Send command" }).click();
      await page.getByTestId("command-watch").locator("[data-status=SUCCEEDED]").waitFor({ timeout: 10_000 });
      expect(await page.getByTestId("command-watch").locator("pre").textContent()).toContain("<script>");

      // Nothing of it became markup, and nothing ran.
      expect(await page.locator('img[src="x"], main script').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    } finally {
      await device.close();
    }
  });

  it("a revoked token sends the user back to sign-in", async () => {
    const created = await api("POST", "/api/v1/tokens", { name: "short-lived", scopes: ["read"] });
    expect(created.status).toBe(201);
    const other = await context.browser()!.newContext({ viewport: DESKTOP });
    const tab = await other.newPage();
    await tab.goto(`${base()}/devices`);
    await tab.getByLabel("API token").fill(created.body.token);
    await tab.getByRole("button", { name: "Sign in" }).click();
    await tab.getByRole("heading", { name: "Devices" }).waitFor();
    await tab.locator(".live.open").first().waitFor();
    expect((await api("DELETE", `/api/v1/tokens/${created.body.id}`)).status).toBe(204);
    // The server ends the open event stream of a revoked token: the open page returns to
    // sign-in without any click, and the token is dropped.
    await tab.getByText("Your token is invalid or has expired").waitFor();
    await tab.getByLabel("API token").waitFor();
    expect(await tab.evaluate(() => sessionStorage.getItem("cloudedge.token"))).toBeNull();
    // A page loaded with a refused token (401 on its first API call) does the same.
    await tab.evaluate((token) => sessionStorage.setItem("cloudedge.token", token), created.body.token);
    await tab.goto(`${base()}/devices`);
    await tab.getByText("Your token is invalid or has expired").waitFor();
    expect(await tab.evaluate(() => sessionStorage.getItem("cloudedge.token"))).toBeNull();
    await other.close();
  });

  it("is keyboard navigable and readable in dark mode", async () => {
    await page.goto(`${base()}/`);
    await page.getByRole("heading", { name: "Devices" }).waitFor();
    // Tab from the top reaches the skip link, the navigation and the register button.
    const reached: string[] = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press("Tab");
      reached.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ""));
    }
    expect(reached).toEqual(
      expect.arrayContaining(["Skip to content", "Devices", "Groups", "Register device"]),
    );
    await page.getByRole("button", { name: "Register device" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog").waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("reg-name");
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });

    await page.emulateMedia({ colorScheme: "dark" });
    const colors = await page.evaluate(() => {
      const style = getComputedStyle(document.body);
      return { background: style.backgroundColor, text: style.color };
    });
    expect(colors).toEqual({ background: "rgb(15, 18, 23)", text: "rgb(230, 233, 238)" });
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("raised no script error and no CSP violation", () => {
    expect(pageErrors).toEqual([]);
  });
});
