import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { EdgeClient } from "@cloudedge/edge-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/**
 * The minimal server as a user starts it (`node dist/main.js`, port from env, memory store),
 * with a real device on a real WebSocket: register, connect, command round trip, list.
 */
describe("the minimal server (a process, real HTTP and WebSocket)", () => {
  let server: ChildProcess;
  let url: string;
  let token: string;
  const clients: EdgeClient[] = [];

  beforeAll(async () => {
    server = spawn(process.execPath, [main], {
      env: { ...process.env, PORT: "0", CLOUDEDGE_DB: "memory:" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    server.stdout?.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => {
      server.once("exit", (code) => reject(new Error(`the server exited (${code})`)));
      server.stdout?.on("data", (chunk: string) => {
        out += chunk;
        const listening = /listening on (http:\/\/\S+)/.exec(out);
        const admin = /admin token: (\S+)/.exec(out);
        if (listening && admin) {
          url = listening[1] as string;
          token = admin[1] as string;
          resolve();
        }
      });
    });
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    if (server.exitCode === null) {
      server.kill("SIGTERM");
      await once(server, "exit");
    }
  });

  const api = async (method: string, path: string, body?: unknown, bearer: string | null = token) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        "content-type": "application/json",
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it("registers a device over HTTP, runs a command on it over WebSocket and lists it online", async () => {
    const registered = await api("POST", "/devices", { name: "minimal-1", labels: { site: "lab" } });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ name: "minimal-1", online: false, groupIds: [] });
    expect(registered.body.secret).toEqual(expect.any(String));
    const { id, secret } = registered.body as { id: string; secret: string };

    const client = new EdgeClient({ url: `${url.replace(/^http/, "ws")}/ws`, deviceId: id, secret });
    clients.push(client);
    client.handle("echo", (params) => ({ echoed: params ?? null }));
    await client.start();
    await expect.poll(() => client.online, { timeout: 10_000 }).toBe(true);

    const command = await api("POST", `/devices/${id}/commands`, { method: "echo", params: { n: 7 } });
    expect(command.status).toBe(200);
    expect(command.body).toMatchObject({
      deviceId: id,
      method: "echo",
      status: "SUCCEEDED",
      result: { echoed: { n: 7 } },
    });

    // A handler that never answers: the agent aborts it at timeoutMs and reports the failure.
    client.handle("hang", () => new Promise(() => {}));
    const hung = await api("POST", `/devices/${id}/commands`, { method: "hang", timeoutMs: 300 });
    expect(hung).toMatchObject({ status: 200, body: { status: "FAILED", error: { code: "timeout" } } });

    const list = await api("GET", "/devices");
    expect(list.body.items).toMatchObject([{ id, name: "minimal-1", online: true }]);
    expect((await api("GET", `/devices/${id}`)).body).toMatchObject({ id, online: true, status: null });
  });

  it("answers 504 with the command id when no outcome came in time, as the reference server does", async () => {
    const { body } = await api("POST", "/devices", { name: "drops-off" });
    const ws = `${url.replace(/^http/, "ws")}/ws`;
    const client = new EdgeClient({ url: ws, deviceId: body.id, secret: body.secret });
    clients.push(client);
    client.handle("hang", () => new Promise(() => {}));
    await client.start();
    await expect.poll(() => client.online, { timeout: 10_000 }).toBe(true);
    // Sent, then the device is gone: requeued, and its deadline passes with no outcome.
    const answer = api("POST", `/devices/${body.id}/commands`, { method: "hang", timeoutMs: 1_000 });
    await expect.poll(async () => (await api("GET", `/devices/${body.id}`)).body.online).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await client.close();
    expect(await answer).toMatchObject({
      status: 504,
      body: { code: expect.stringMatching(/^(delivery|result)_timeout$/), commandId: expect.any(String) },
    });
  });

  it("answers the SDK's errors with their status and code, and refuses requests without a token", async () => {
    expect(await api("GET", "/devices/123")).toEqual({
      status: 404,
      body: { code: "device_not_found", message: "no such device" },
    });
    const offline = await api("POST", "/devices", { name: "never-connects" });
    const failed = await api("POST", `/devices/${offline.body.id}/commands`, { method: "echo" });
    expect(failed).toMatchObject({ status: 409, body: { code: "device_offline" } });
    expect((await api("GET", "/devices", undefined, null)).status).toBe(401);
  });
});
