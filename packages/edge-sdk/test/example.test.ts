import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent } from "../examples/embed.js";
import { next, startHub, type TestHub, until } from "./support/hub.js";

// The "embed the edge SDK" guide: the README shows examples/embed.ts verbatim, and this runs it.

const root = join(import.meta.dirname, "..");
let hub: TestHub;
let dataDir: string;

beforeAll(async () => {
  hub = await startHub();
  dataDir = await mkdtemp(join(tmpdir(), "edge-example-"));
});
afterAll(async () => {
  await hub.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("examples/embed.ts", () => {
  it("is what the README shows", async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const example = await readFile(join(root, "examples/embed.ts"), "utf8");
    expect(readme).toContain(example.trim());
  });

  it("runs against a real hub: commands, exec allowlist, logs, desired → reported, status", async () => {
    const { device, secret } = await hub.cloud.devices.register({ name: "example" });
    const agent = await startAgent({ url: hub.url, deviceId: device.id, secret, dataDir });
    try {
      await until(() => agent.client.online, "agent online");
      const call = (method: string, params: unknown = {}) =>
        hub.cloud.broker.call(device.id, method, params, { timeoutMs: 10_000 });
      expect(await call("greet", { name: "edge" })).toEqual({ hello: "edge" });
      expect(await call("system.ping")).toMatchObject({ pong: true });
      expect(await call("exec", { name: "disk-usage", args: { mount: "/" } })).toMatchObject({ exitCode: 0 });
      expect(await call("exec", { name: "rm" }).catch((e) => e.command.error.code)).toBe("exec_denied");
      const tail = (await call("logs.tail", { lines: 5 })) as { lines: string[] };
      expect(tail.lines.some((line) => line.includes('"msg":"online"'))).toBe(true);
      expect(tail.lines.join("\n")).not.toContain(secret);

      await hub.cloud.state.patchDesired(device.id, { statusIntervalMs: 1_000 });
      const view = await until(async () => {
        const v = await hub.cloud.state.get(device.id);
        return v.reported["statusIntervalMs"] === 1_000 ? v : undefined;
      }, "reported statusIntervalMs");
      expect(view.desiredVersion).toBe(1);
      const status = await until(
        async () => (await hub.cloud.status.history(device.id)).at(0),
        "a status report",
        15_000,
      );
      expect(status.data).toMatchObject({ cpu: expect.any(Object), memory: expect.any(Object) });

      // A restart keeps its token and state in the data dir: it resumes by token.
      await agent.stop();
      const again = await startAgent({ url: hub.url, deviceId: device.id, secret, dataDir });
      try {
        expect(await next(again.client, "online")).toMatchObject({ viaToken: true });
        expect(again.client.desired.version).toBe(1);
      } finally {
        await again.stop();
      }
    } finally {
      await agent.stop().catch(() => {});
    }
  });
});
