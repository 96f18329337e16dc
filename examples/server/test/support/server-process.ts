import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../../../packages/edge-sdk/test/support/sshd.js";

const MAIN = join(import.meta.dirname, "../../dist/main.js");

/** What a REST call answered: status, parsed JSON body, content type. */
export interface ApiResponse {
  status: number;
  /** Parsed JSON, loosely typed: tests assert on it field by field. */
  body: any;
  type: string;
}

/** The built reference server as a real process, the way the README starts it. */
export interface ServerProcess {
  pid: number;
  port: number;
  url: string;
  /** The scratch directory holding the data dir (`<dir>/data`). */
  dir: string;
  dataDir: string;
  /** The admin token the server wrote on first start. */
  adminToken: () => string;
  /** A REST call with the admin token; JSON in and out. */
  api: (method: string, path: string, body?: unknown) => Promise<ApiResponse>;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
  /** SIGTERM and wait for the exit; `keepDir` leaves the data dir for a restart. */
  stop: (keepDir?: boolean) => Promise<void>;
}

/** Starts `dist/main.js` on a free port with `env` on top of the test defaults; resolves once listening. */
export async function startServerProcess(
  env: Record<string, string> = {},
  dir = mkdtempSync(join(tmpdir(), "cloudedge-server-")),
): Promise<ServerProcess> {
  const port = await freePort();
  const dataDir = join(dir, "data");
  let out = "";
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      CLOUDEDGE_DATA_DIR: dataDir,
      CLOUDEDGE_LOG_LEVEL: "warn",
      CLOUDEDGE_BCRYPT_COST: "4",
      CLOUDEDGE_SHUTDOWN_SPREAD_MS: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (c: Buffer) => (out += c));
  child.stderr?.on("data", (c: Buffer) => (out += c));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!/listening on/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `http://127.0.0.1:${port}`;
  const adminToken = () => readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  const api = async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const type = response.headers.get("content-type") ?? "";
    return { status: response.status, body: text && type.includes("json") ? JSON.parse(text) : text, type };
  };
  return {
    pid: child.pid as number,
    port,
    url,
    dir,
    dataDir,
    adminToken,
    api,
    output: () => out,
    stop: async (keepDir = false) => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
