import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Fingerprint } from "@cloudedge/edge-sdk/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSshd, type TestSshd } from "../../../packages/edge-sdk/test/support/sshd.js";
import { ROOT } from "./support/processes.js";
import { System } from "./support/system.js";

// The single-file bundle (issue 19): copied alone into an empty directory — no node_modules
// anywhere above it, no native addon — it still comes online, reports status, answers
// commands and uploads its logs over SFTP (ssh2 on its pure-JS crypto).
describe("the agent bundle (dist/bundle/cloudedge-agent.mjs)", () => {
  const alone = mkdtempSync(join(tmpdir(), "cloudedge-bundle-"));
  let system: System;
  let sshd: TestSshd;

  beforeAll(async () => {
    const bundle = join(alone, "cloudedge-agent.mjs");
    copyFileSync(join(ROOT, "examples/agent/dist/bundle/cloudedge-agent.mjs"), bundle);
    sshd = await startSshd();
    system = new System((dir) => {
      writeFileSync(join(dir, "agent-key"), sshd.userKey, { mode: 0o600 });
      const hostKey = Buffer.from(sshd.hostPublicKey.split(" ")[1] as string, "base64");
      return {
        statusIntervalMs: 1000,
        sftp: {
          host: "127.0.0.1",
          port: sshd.port,
          username: sshd.username,
          privateKeyFile: join(dir, "agent-key"),
          hostKey: { fingerprint: sha256Fingerprint(hostKey) },
        },
      };
    });
    system.agentBundle = bundle;
    await system.start({ name: "bundle-box" });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    await sshd?.stop();
    rmSync(alone, { recursive: true, force: true });
  });

  it("comes online, reports status with the agent's own cost, and runs system.info", async () => {
    await expect
      .poll(async () => (await system.api("GET", `/api/v1/devices/${system.deviceId}/status`)).status, {
        timeout: 20_000,
      })
      .toBe(200);
    const status = (await system.api("GET", `/api/v1/devices/${system.deviceId}/status`)).body;
    expect(status.cpu.usagePercent).toBeTypeOf("number");
    expect(status.agent.rssBytes).toBeGreaterThan(0);
    const info = await system.command({ method: "system.info", wait: true, timeoutMs: 10_000 });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ status: "SUCCEEDED", result: { agentVersion: "0.1.0" } });
    expect(info.body.result.cpu.cores).toBeGreaterThanOrEqual(1);
  });

  it("logs.upload works from the bundle alone", async () => {
    const upload = await system.command({
      method: "logs.upload",
      params: { remoteDir: sshd.remoteRoot },
      timeoutMs: 20_000,
      wait: true,
    });
    expect(upload.body).toMatchObject({ status: "SUCCEEDED" });
    expect(upload.body.result.files.length).toBeGreaterThan(0);
  });
});
