import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../support/private-mariadb.js";
import { apiJson, Proc, ROOT } from "../../support/processes.js";

const SERVER_MAIN = join(ROOT, "examples/server/dist/main.js");
const AGENT_MAIN = join(ROOT, "examples/agent/dist/main.js");

export interface Device {
  id: string;
  secret: string;
}

/** One server-sent event as the stream carried it. */
export interface SeenEvent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * The reference server and agents as separate processes (the built `main.js` run by node,
 * so a test sees the server's own exit code), a temp data dir, and REST and SSE clients.
 */
export class Rig {
  readonly dir = mkdtempSync(join(tmpdir(), "cloudedge-faults-"));
  port = 0;
  token = "";
  server: Proc | undefined;
  readonly agents: Proc[] = [];
  /** Every event the SSE stream delivered, across server restarts. */
  readonly seen: SeenEvent[] = [];
  private sse: AbortController | undefined;

  constructor(
    private readonly settings: { db: (dir: string) => string; env?: Record<string, string>; args?: string[] },
  ) {}

  get dataDir(): string {
    return join(this.dir, "data");
  }

  /** Starts the server and waits until it listens (the journal is replayed before that). */
  async startServer(): Promise<Proc> {
    if (this.port === 0) this.port = await freePort();
    const server = new Proc(
      [SERVER_MAIN, ...(this.settings.args ?? [])],
      {
        PORT: String(this.port),
        HOST: "127.0.0.1",
        CLOUDEDGE_DB: this.settings.db(this.dir),
        CLOUDEDGE_DATA_DIR: this.dataDir,
        CLOUDEDGE_HEARTBEAT_MS: "1000",
        CLOUDEDGE_SHUTDOWN_SPREAD_MS: "1500",
        CLOUDEDGE_BCRYPT_COST: "4",
        CLOUDEDGE_LOG_LEVEL: "info",
        ...this.settings.env,
      },
      process.execPath,
    );
    this.server = server;
    await server.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 120_000);
    this.token ||= readFileSync(join(this.dataDir, "admin-token"), "utf8").trim();
    this.followEvents();
    return server;
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    return apiJson(this.port, this.token, method, path, body);
  }

  /** Every item of a paged collection (`items` + `nextCursor`). */
  async all(path: string): Promise<any[]> {
    const items: any[] = [];
    let cursor: string | undefined;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page = await this.api("GET", `${path}${sep}limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      if (page.status !== 200) throw new Error(`GET ${path}: ${page.status} ${JSON.stringify(page.body)}`);
      items.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return items;
  }

  async register(count: number): Promise<Device[]> {
    const devices: Device[] = [];
    for (let i = 0; i < count; i++) {
      const created = await this.api("POST", "/api/v1/devices", { name: `fault-${i}` });
      if (created.status !== 201) throw new Error(`register: ${created.status}`);
      devices.push({ id: created.body.id, secret: created.body.secret });
    }
    return devices;
  }

  /** Starts `npm run agent`'s program for the device with this config; resolves once it is online. */
  async startAgent(device: Device, config: Record<string, unknown>): Promise<Proc> {
    const configFile = join(this.dir, `agent-${device.id}.json`);
    writeFileSync(configFile, JSON.stringify({ statusIntervalMs: 1000, ...config }));
    const agent = new Proc(
      [
        AGENT_MAIN,
        "--server",
        `ws://127.0.0.1:${this.port}/ws`,
        "--device-id",
        device.id,
        "--config",
        configFile,
        "--data-dir",
        join(this.dir, `agent-${device.id}`),
      ],
      { CLOUDEDGE_DEVICE_SECRET: device.secret },
      process.execPath,
    );
    this.agents.push(agent);
    await agent.waitFor(/online as device/, 60_000);
    return agent;
  }

  /** The server's JSON log lines with this message (pino on stderr). */
  logs(proc: Proc, msg: string): Array<Record<string, any>> {
    return proc.stderr
      .split("\n")
      .filter((line) => line.startsWith("{") && line.includes(`"msg":"${msg}"`))
      .map((line) => JSON.parse(line));
  }

  /** Status reports the server announced: what it received, by (device id, ts). */
  statusesSeen(): Array<{ deviceId: string; ts: number }> {
    return this.seen
      .filter((e) => e.type === "status")
      .map((e) => ({ deviceId: e.data["deviceId"] as string, ts: (e.data["status"] as { ts: number }).ts }));
  }

  /** Resolves once `count` devices each sent a report from now on (back and past their handshake). */
  async untilReporting(count: number): Promise<void> {
    const since = this.statusesSeen().length;
    await until(
      () =>
        new Set(
          this.statusesSeen()
            .slice(since)
            .map((s) => s.deviceId),
        ).size === count,
      "every agent reporting",
    );
  }

  async close(): Promise<void> {
    this.sse?.abort();
    await Promise.all(this.agents.map((a) => a.stop()));
    await this.server?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Follows /api/v1/events into `seen` until the server goes away. */
  private followEvents(): void {
    this.sse?.abort();
    const sse = new AbortController();
    this.sse = sse;
    let buffer = "";
    void fetch(`http://127.0.0.1:${this.port}/api/v1/events`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: sse.signal,
    })
      .then(async (response) => {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += new TextDecoder().decode(chunk);
          let end = buffer.indexOf("\n\n");
          for (; end >= 0; end = buffer.indexOf("\n\n")) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const type = /^event: (.+)$/m.exec(block)?.[1];
            const data = /^data: (.+)$/m.exec(block)?.[1];
            if (type && data && type !== "shutdown") this.seen.push({ type, data: JSON.parse(data) });
          }
        }
      })
      .catch(() => {});
  }
}

/** Polls `check` every 100 ms until it returns true; throws `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
