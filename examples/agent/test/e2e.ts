import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readNics, sha256Fingerprint } from "@cloudedge/edge-sdk/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSshd, type TestSshd } from "../../../packages/edge-sdk/test/support/sshd.js";
import { System } from "./support/system.js";

const HEARTBEAT_MS = 1000;

/**
 * The whole system as a user runs it: `npm start` and `npm run agent -- …` as separate
 * processes, talking over real HTTP and WebSockets, with the given database URL.
 */
export function describeEndToEnd(name: string, db: (dir: string) => string) {
  describe(`end to end: server + agent processes (${name})`, () => {
    let system: System;
    let sshd: TestSshd;
    let events = "";
    const sse = new AbortController();
    const api = (method: string, path: string, body?: unknown) => system.api(method, path, body);
    const startServer = () => system.startServer();
    const startAgent = () => system.startAgent();
    let deviceId: string;
    const online = async () => (await api("GET", `/api/v1/devices/${deviceId}`)).body.online as boolean;

    beforeAll(async () => {
      sshd = await startSshd();
      system = new System((dir) => {
        writeFileSync(join(dir, "agent-key"), sshd.userKey, { mode: 0o600 });
        return {
          statusIntervalMs: 1000,
          exec: {
            allowlist: {
              greet: { argv: ["echo", "hello", "{who}"], params: { who: { pattern: "^[a-z]{1,16}$" } } },
            },
          },
          reboot: { argv: ["true"] },
          sftp: {
            host: "127.0.0.1",
            port: sshd.port,
            username: sshd.username,
            privateKeyFile: join(dir, "agent-key"),
            hostKey: {
              fingerprint: sha256Fingerprint(
                Buffer.from(sshd.hostPublicKey.split(" ")[1] as string, "base64"),
              ),
            },
          },
        };
      }, db);
      // The SSE stream runs through the whole suite, from before the agent's first connection.
      await system.start({ name: "e2e-box", labels: { env: "test" } }, () => {
        void fetch(`http://127.0.0.1:${system.port}/api/v1/events`, {
          headers: { authorization: `Bearer ${system.token}` },
          signal: sse.signal,
        })
          .then(async (response) => {
            for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
              events += new TextDecoder().decode(chunk);
          })
          .catch(() => {});
      });
      deviceId = system.deviceId;
    }, 240_000);

    afterAll(async () => {
      sse.abort();
      await system?.stop();
      await sshd?.stop();
    });

    it("the agent is online and its status (cpu, memory, disks) is visible", async () => {
      expect(await online()).toBe(true);
      await expect
        .poll(async () => (await api("GET", `/api/v1/devices/${deviceId}/status`)).status, {
          timeout: 20_000,
        })
        .toBe(200);
      const status = (await api("GET", `/api/v1/devices/${deviceId}/status`)).body;
      expect(status.cpu.usagePercent).toBeTypeOf("number");
      expect(status.memory.totalBytes).toBeGreaterThan(0);
      expect(status.disks.length).toBeGreaterThan(0);
      expect(status.disks[0]).toMatchObject({ usePercent: expect.any(Number), fs: expect.any(String) });
      expect(status.network).toMatchObject({ interfaces: expect.any(Array) });
      // Issue 19: the agent reports what it costs; its NICs come once, with hello.
      expect(status.agent).toMatchObject({ collectCpuMs: expect.any(Number), rssBytes: expect.any(Number) });
      const device = (await api("GET", `/api/v1/devices/${deviceId}`)).body;
      expect(device.hardware.nics).toEqual(readNics());
    });

    it("system.ping and an allowlisted exec round-trip with wait: true; anything else is refused", async () => {
      const ping = await api("POST", `/api/v1/devices/${deviceId}/commands`, {
        method: "system.ping",
        wait: true,
      });
      expect(ping.status).toBe(200);
      expect(ping.body).toMatchObject({ status: "SUCCEEDED", result: { pong: true } });
      const exec = await api("POST", `/api/v1/devices/${deviceId}/commands`, {
        method: "exec",
        params: { name: "greet", args: { who: "world" } },
        wait: true,
      });
      expect(exec.body).toMatchObject({
        status: "SUCCEEDED",
        result: { exitCode: 0, stdout: "hello world\n" },
      });
      const denied = await api("POST", `/api/v1/devices/${deviceId}/commands`, {
        method: "exec",
        params: { name: "sh" },
        wait: true,
      });
      expect(denied.body).toMatchObject({ status: "FAILED", error: { code: "exec_denied" } });
    });

    it("desired state is applied by the agent and reported back", async () => {
      const patched = await api("PATCH", `/api/v1/devices/${deviceId}/state/desired`, {
        statusIntervalMs: 1500,
        logLevel: "debug",
      });
      expect(patched.status).toBe(200);
      await expect
        .poll(async () => (await api("GET", `/api/v1/devices/${deviceId}/state`)).body.reported, {
          timeout: 10_000,
        })
        .toEqual({ statusIntervalMs: 1500, logLevel: "debug" });
      expect((await api("GET", `/api/v1/devices/${deviceId}/state`)).body.delta).toEqual({});
    });

    it("logs.upload puts the agent's logs on a real sshd, host key verified", async () => {
      const upload = await api("POST", `/api/v1/devices/${deviceId}/commands`, {
        method: "logs.upload",
        params: { remoteDir: sshd.remoteRoot },
        timeoutMs: 20_000,
        wait: true,
      });
      expect(upload.body).toMatchObject({ status: "SUCCEEDED" });
      const files = upload.body.result.files as Array<{ path: string; bytes: number }>;
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        expect(file.path.startsWith(join(sshd.remoteRoot, deviceId))).toBe(true);
        expect(statSync(file.path).size).toBe(file.bytes);
      }
      expect(readdirSync(join(sshd.remoteRoot, deviceId)).length).toBe(1);
    });

    it("a command sent while the agent is stopped (with a TTL) is delivered after it restarts", async () => {
      await system.agent.stop();
      await expect.poll(online, { timeout: 10_000 }).toBe(false);
      const queued = await api("POST", `/api/v1/devices/${deviceId}/commands`, {
        method: "system.info",
        ttlMs: 120_000,
      });
      expect(queued.body.status).toBe("QUEUED");
      await startAgent();
      await expect
        .poll(
          async () =>
            (await api("GET", `/api/v1/devices/${deviceId}/commands/${queued.body.id}`)).body.status,
          { timeout: 20_000 },
        )
        .toBe("SUCCEEDED");
    });

    it("agent SIGKILL → the device is offline within 2.5 heartbeat intervals", async () => {
      system.agent.kill("SIGKILL");
      await system.agent.exited;
      const killedAt = Date.now();
      await expect.poll(online, { timeout: 10_000, interval: 100 }).toBe(false);
      expect(Date.now() - killedAt).toBeLessThan(2.5 * HEARTBEAT_MS + 1_500); // poll granularity and a quarter-interval sweep
      const log = await api("GET", `/api/v1/devices/${deviceId}/events?kind=disconnected&limit=1`);
      expect(["connection_lost", "heartbeat_timeout"]).toContain(log.body.items[0].reason);
      await startAgent();
    });

    it("server restart → the agent comes back online by itself, and the data is still there", async () => {
      const before = await api("GET", `/api/v1/devices/${deviceId}/commands?limit=1000`);
      await system.server.stop();
      // Graceful: the agent was told to come back (bye + 4009 with a retry-after), not dropped.
      await system.agent.waitFor(/offline \(4009 retry-after=\d+\)/, 10_000);
      await startServer();
      await expect.poll(online, { timeout: 30_000, interval: 200 }).toBe(true);
      const after = await api("GET", `/api/v1/devices/${deviceId}/commands?limit=1000`);
      expect(after.body.items.map((c: { id: string }) => c.id)).toEqual(
        before.body.items.map((c: { id: string }) => c.id),
      );
      expect((await api("GET", `/api/v1/devices/${deviceId}/state`)).body.desired).toEqual({
        statusIntervalMs: 1500,
        logLevel: "debug",
      });
      const again = await api("POST", `/api/v1/devices/${deviceId}/commands`, {
        method: "system.ping",
        wait: true,
      });
      expect(again.body.status).toBe("SUCCEEDED");
    });

    it("the SSE stream saw presence and command events", () => {
      expect(events).toContain("event: presence");
      expect(events).toContain("event: command");
      expect(events).toContain(`"deviceId":"${deviceId}"`);
    });
  });
}
