import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../../../packages/edge-sdk/test/support/sshd.js";
import { apiJson, Proc } from "./processes.js";

/** A parsed response body, loosely typed: tests assert on it field by field. */
export type ApiBody = any;

/**
 * The reference server (`npm start`) and one registered device whose agent
 * (`npm run agent -- …`) runs with the config `agentConfig(dir)` makes (`dir`: this system's
 * temporary directory) — as separate processes, as a user runs them.
 */
export class System {
  readonly dir = mkdtempSync(join(tmpdir(), "cloudedge-system-"));
  port = 0;
  token = "";
  deviceId = "";
  secret = "";
  /** Run the agent as this single-file bundle (`node <file>`) instead of `npm run agent`. */
  agentBundle: string | undefined;
  private serverProc: Proc | undefined;
  private agentProc: Proc | undefined;

  constructor(
    private readonly agentConfig: (dir: string) => Record<string, unknown>,
    /** The server's database URL; default SQLite in the server's data dir. */
    private readonly db: (dir: string) => string = (dir) => `sqlite:${join(dir, "data", "cloudedge.db")}`,
  ) {}

  /** The running (or last) server process. */
  get server(): Proc {
    if (!this.serverProc) throw new Error("the server was not started");
    return this.serverProc;
  }

  /** The running (or last) agent process. */
  get agent(): Proc {
    if (!this.agentProc) throw new Error("the agent was not started");
    return this.agentProc;
  }

  /** The agent's data dir. */
  get agentDir(): string {
    return join(this.dir, "agent");
  }

  /**
   * Starts the server, registers the device (with `device` as its body), runs `beforeAgent`
   * and starts the device's agent.
   */
  async start(
    device: Record<string, unknown> = { name: "system-box" },
    beforeAgent?: () => void,
  ): Promise<void> {
    this.port = await freePort();
    await this.startServer();
    this.token = readFileSync(join(this.dir, "data", "admin-token"), "utf8").trim();
    const created = await this.api("POST", "/api/v1/devices", device);
    if (created.status !== 201) throw new Error(`registration failed: ${created.status}`);
    this.deviceId = created.body.id;
    this.secret = created.body.secret;
    writeFileSync(join(this.dir, "agent.json"), JSON.stringify(this.agentConfig(this.dir)));
    beforeAgent?.();
    await this.startAgent();
  }

  async startServer(): Promise<void> {
    this.serverProc = new Proc(["start"], {
      PORT: String(this.port),
      HOST: "127.0.0.1",
      CLOUDEDGE_DB: this.db(this.dir),
      CLOUDEDGE_DATA_DIR: join(this.dir, "data"),
      CLOUDEDGE_HEARTBEAT_MS: "1000",
      CLOUDEDGE_SHUTDOWN_SPREAD_MS: "1000",
      CLOUDEDGE_LOG_LEVEL: "warn",
    });
    await this.serverProc.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 120_000);
  }

  async startAgent(): Promise<void> {
    const launcher = this.agentBundle ? [this.agentBundle] : ["run", "agent", "--"];
    this.agentProc = new Proc(
      [
        ...launcher,
        "--server",
        `ws://127.0.0.1:${this.port}/ws`,
        "--device-id",
        this.deviceId,
        "--config",
        join(this.dir, "agent.json"),
        "--data-dir",
        this.agentDir,
      ],
      { CLOUDEDGE_DEVICE_SECRET: this.secret },
      this.agentBundle ? process.execPath : "npm",
    );
    await this.agentProc.waitFor(/online as device/, 120_000);
  }

  /** An API call with the admin token; JSON in and out. */
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: ApiBody }> {
    return apiJson(this.port, this.token, method, path, body);
  }

  /** POST a command to the device. */
  command(body: Record<string, unknown>): Promise<{ status: number; body: ApiBody }> {
    return this.api("POST", `/api/v1/devices/${this.deviceId}/commands`, body);
  }

  /** The stored command. */
  async commandRecord(id: string): Promise<ApiBody> {
    return (await this.api("GET", `/api/v1/devices/${this.deviceId}/commands/${id}`)).body;
  }

  async stop(): Promise<void> {
    await this.agentProc?.stop();
    await this.serverProc?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
