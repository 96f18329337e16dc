import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../packages/edge-sdk/test/support/sshd.js";
import { Proc, ROOT } from "./support/processes.js";

/**
 * Runs the README's five-minute walkthrough, command for command, against `npm start`.
 * Only the port, the data directory and the agent's files are redirected into a temp dir
 * so the test can run beside anything else.
 */
describe("README walkthrough", () => {
  let dir: string;
  let port: number;
  let server: Proc;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cloudedge-readme-"));
    port = await freePort();
    server = new Proc(["start"], {
      PORT: String(port),
      HOST: "127.0.0.1",
      CLOUDEDGE_DATA_DIR: join(dir, "data"),
      CLOUDEDGE_DB: `sqlite:${join(dir, "data", "db.sqlite")}`,
      CLOUDEDGE_LOG_LEVEL: "warn",
    });
    await server.waitFor(/listening on/, 120_000);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("every command works as written", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /```sh walkthrough\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const script = (block as string)
      .replaceAll("127.0.0.1:9090", `127.0.0.1:${port}`)
      .replaceAll("$(cat data/admin-token)", `$(cat ${join(dir, "data", "admin-token")})`)
      .replaceAll("./agent-data", join(dir, "agent-data"))
      .replaceAll("> agent.log", `> ${join(dir, "agent.log")}`);
    const child = spawn("bash", ["-e", "-c", script], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c));
    child.stderr.on("data", (c: Buffer) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      process.kill(-(child.pid as number), "SIGTERM"); // anything the script left behind
    } catch {
      // nothing left
    }
    expect(
      code,
      `stdout:\n${out}\nstderr:\n${err}\nagent.log:\n${readFileSync(join(dir, "agent.log"), "utf8").slice(-2000)}`,
    ).toBe(0);
    expect(out).toContain('"online":true');
    expect(out).toMatch(/"cpu":\{"usagePercent"/);
    expect(out.match(/"status":"SUCCEEDED"/g)?.length).toBe(2);
    expect(out).toContain('"reported":{');
    expect(out).toMatch(/"reported":\{[^}]*"statusIntervalMs":5000/);
    expect(out).toContain("event: presence");
  }, 120_000);
});
