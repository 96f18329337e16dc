import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgeClient } from "@cloudedge/edge-sdk";
import mysql from "mysql2/promise";
import { freePort } from "../support/private-mariadb.js";
import { apiFetch, Proc } from "../support/processes.js";

/** An answer to a REST call, with how long it took. */
export interface Timed {
  status: number;
  code: string | undefined;
  ms: number;
}

/** The reference server as a process (`npm start`) on its own port and data dir. */
export class ServerUnderTest {
  private constructor(
    readonly proc: Proc,
    readonly port: number,
    readonly token: string,
    private readonly dir: string,
  ) {}

  static async start(db: string, env: Record<string, string> = {}): Promise<ServerUnderTest> {
    const dir = mkdtempSync(join(tmpdir(), "cloudedge-fault-"));
    const port = await freePort();
    const proc = new Proc(["start"], {
      PORT: String(port),
      HOST: "127.0.0.1",
      CLOUDEDGE_DB: db,
      CLOUDEDGE_DATA_DIR: join(dir, "data"),
      CLOUDEDGE_HEARTBEAT_MS: "1000",
      CLOUDEDGE_SHUTDOWN_SPREAD_MS: "1000",
      CLOUDEDGE_LOG_LEVEL: "warn",
      ...env,
    });
    await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 120_000);
    const token = readFileSync(join(dir, "data", "admin-token"), "utf8").trim();
    return new ServerUnderTest(proc, port, token, dir);
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** A REST call; resolves with its status, problem `code` and duration (never times out on its own). */
  async call(method: string, path: string, body?: unknown): Promise<Timed & { body: any }> {
    const started = performance.now();
    const { status, text } = await apiFetch(this.port, this.token, method, path, body);
    const ms = Math.round(performance.now() - started);
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (metrics)
    }
    return { status, code: parsed?.code, ms, body: parsed };
  }

  /** One gauge or counter of /metrics. */
  async metric(name: string): Promise<number> {
    const { body } = await this.call("GET", "/metrics");
    const match = new RegExp(`^${name} (\\S+)$`, "m").exec(String(body));
    if (!match) throw new Error(`no ${name} in /metrics`);
    return Number(match[1]);
  }

  /** The server's log lines at warn and above (JSON on stderr). */
  logLines(): Array<Record<string, unknown>> {
    return this.proc.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async stop(): Promise<{ code: number | null }> {
    const exited = await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
    return exited;
  }
}

/**
 * Devices on the EdgeClient SDK, each sending a status report every `everyMs` with a strictly
 * increasing `ts`, and counting what it sent — so a test can check that every report made it
 * into the database, once.
 */
export class Fleet {
  sent = 0;
  /** Reports that did not go out at once (kept in the device's outbox). */
  queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly lastTs = new Map<EdgeClient, number>();

  private constructor(readonly clients: EdgeClient[]) {}

  static async connect(server: ServerUnderTest, count: number): Promise<Fleet> {
    const clients: EdgeClient[] = [];
    for (let i = 0; i < count; i++) {
      const created = await server.call("POST", "/api/v1/devices", { name: `fault-${i}` });
      if (created.status !== 201) throw new Error(`register: ${created.status} ${created.code}`);
      const client = new EdgeClient({
        url: server.wsUrl,
        deviceId: created.body.id,
        secret: created.body.secret,
      });
      const online = new Promise<void>((resolve) => client.once("online", () => resolve()));
      await client.start();
      await online;
      clients.push(client);
    }
    return new Fleet(clients);
  }

  get deviceIds(): string[] {
    return this.clients.map((c) => c.deviceId as string);
  }

  /** The sessions now: unchanged ones mean no device was disconnected. */
  sessions(): Array<string | undefined> {
    return this.clients.map((c) => c.sessionId);
  }

  startReporting(everyMs: number): void {
    this.timer = setInterval(() => {
      for (const client of this.clients) {
        const ts = Math.max(Date.now(), (this.lastTs.get(client) ?? 0) + 1);
        this.lastTs.set(client, ts);
        this.sent++;
        void client.sendStatus({ cpu: { usagePercent: 1 } }, ts).then((now) => {
          if (!now) this.queued++;
        });
      }
    }, everyMs);
  }

  stopReporting(): void {
    clearInterval(this.timer);
  }

  async close(): Promise<void> {
    this.stopReporting();
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/** Rows of the devices' status history, and how many distinct (device, ts) pairs among them. */
export async function statusRows(
  dbUrl: string,
  deviceIds: string[],
): Promise<{ rows: number; distinct: number }> {
  const conn = await mysql.createConnection({ uri: dbUrl, supportBigNumbers: true, bigNumberStrings: true });
  try {
    const [result] = await conn.query(
      "SELECT COUNT(*) AS rows_, COUNT(DISTINCT device_id, ts) AS distinct_ FROM status_history WHERE device_id IN (?)",
      [deviceIds],
    );
    const row = (result as Array<{ rows_: string | number; distinct_: string | number }>)[0];
    return { rows: Number(row?.rows_), distinct: Number(row?.distinct_) };
  } finally {
    await conn.end();
  }
}

/** The REST calls an operator's tools make, each needing the database. */
export function storeBoundCalls(
  server: ServerUnderTest,
  deviceId: string,
): Array<[string, () => Promise<Timed>]> {
  return [
    ["GET /readyz", () => server.call("GET", "/readyz")],
    ["GET /api/v1/devices", () => server.call("GET", "/api/v1/devices")],
    ["GET /api/v1/devices/:id", () => server.call("GET", `/api/v1/devices/${deviceId}`)],
    ["POST /api/v1/devices", () => server.call("POST", "/api/v1/devices", { name: "during-outage" })],
    [
      "PATCH …/state/desired",
      () => server.call("PATCH", `/api/v1/devices/${deviceId}/state/desired`, { fan: "auto" }),
    ],
    [
      "POST …/commands",
      () => server.call("POST", `/api/v1/devices/${deviceId}/commands`, { method: "system.ping" }),
    ],
    ["GET …/status/history", () => server.call("GET", `/api/v1/devices/${deviceId}/status/history`)],
    ["GET …/events", () => server.call("GET", `/api/v1/devices/${deviceId}/events`)],
  ];
}
