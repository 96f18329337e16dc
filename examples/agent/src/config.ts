import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

/** One allowlisted exec command as written in the config file (patterns as strings, matched whole). */
export interface ExecCommandConfig {
  argv: string[];
  params?: Record<
    string,
    { pattern?: string; allowLeadingDash?: boolean; required?: boolean; default?: string }
  >;
  timeoutMs?: number;
  onAgentRestart?: "await" | "kill";
}

export interface AgentConfig {
  server: string;
  deviceId: string;
  secret: string;
  dataDir: string;
  logDir: string;
  caFile?: string;
  /** Accept invalid TLS certificates (testing only). */
  insecure: boolean;
  statusIntervalMs: number;
  logLevel: string;
  reboot?: { argv: string[] };
  /** Config file only: the slower-interval parts of the status report (docs/operations.md "Agent footprint"). */
  collector?: CollectorConfig;
  exec?: {
    allowlist: Record<string, ExecCommandConfig>;
    timeoutMs?: number;
    maxOutputBytes?: number;
    maxConcurrent?: number;
  };
  sftp?: {
    host: string;
    port?: number;
    username: string;
    privateKeyFile?: string;
    password?: string;
    hostKey: { fingerprint: string | string[] } | { knownHostsFile: string };
    remoteDir?: string;
  };
}

/** What the system collector reads beyond CPU, memory, disks and uptime, and how often. */
export interface CollectorConfig {
  /** Network rates per interface. Default true. */
  network?: boolean;
  /** CPU temperature (where the host has a sensor). Default true. */
  temperature?: boolean;
  /** How often network counters, the temperature and the mount list are re-read. Default 60000. */
  slowIntervalMs?: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export const HELP = `Usage: cloudedge-agent --server <ws(s)://host:9090/ws> --device-id <id> --secret <secret> [options]

  --server <url>         CLOUDEDGE_SERVER          the hub's WebSocket URL (ws:// or wss://)
  --device-id <id>       CLOUDEDGE_DEVICE_ID       the id returned at registration
  --secret <secret>      CLOUDEDGE_DEVICE_SECRET   the secret returned at registration (prefer the env or config file)
  --config <file>        CLOUDEDGE_AGENT_CONFIG    JSON config file (any option below, plus reboot, exec, sftp)
  --data-dir <dir>       CLOUDEDGE_DATA_DIR        resume token, dedupe table, outbox (default ./agent-data)
  --log-dir <dir>        CLOUDEDGE_LOG_DIR         rotating logs (default <data dir>/logs)
  --ca-file <file>       CLOUDEDGE_CA_FILE         PEM CA bundle for a private CA (wss://)
  --insecure                                       accept invalid TLS certificates (testing only)
  --status-interval-ms   CLOUDEDGE_STATUS_INTERVAL_MS  default 15000 (desired state may change it)
  --log-level <level>    CLOUDEDGE_LOG_LEVEL       debug | info | warn | error (default info)
  --help

Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad configuration, 3 credentials rejected before the
first successful connection (once it has been online the agent never gives up reconnecting).`;

/** Flags win over the environment, which wins over the config file, which wins over defaults. */
export function loadAgentConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig | "help" {
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        server: { type: "string" },
        "device-id": { type: "string" },
        secret: { type: "string" },
        config: { type: "string" },
        "data-dir": { type: "string" },
        "log-dir": { type: "string" },
        "ca-file": { type: "string" },
        insecure: { type: "boolean" },
        "status-interval-ms": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (parsed["help"]) return "help";
  const configPath = (parsed["config"] as string | undefined) ?? env["CLOUDEDGE_AGENT_CONFIG"];
  let file: Partial<AgentConfig> = {};
  if (configPath) {
    try {
      file = JSON.parse(readFileSync(configPath, "utf8")) as Partial<AgentConfig>;
    } catch (error) {
      throw new ConfigError(`cannot read the config file ${configPath}: ${(error as Error).message}`);
    }
    if (typeof file !== "object" || file === null || Array.isArray(file))
      throw new ConfigError(`${configPath} must hold a JSON object`);
  }
  const pick = (flag: string, envName: string, key: keyof AgentConfig): string | undefined =>
    (parsed[flag] as string | undefined) ?? env[envName] ?? (file[key] as string | undefined);

  const server = pick("server", "CLOUDEDGE_SERVER", "server");
  const deviceId = pick("device-id", "CLOUDEDGE_DEVICE_ID", "deviceId");
  const secret = pick("secret", "CLOUDEDGE_DEVICE_SECRET", "secret");
  const missing = [!server && "--server", !deviceId && "--device-id", !secret && "--secret"].filter(Boolean);
  if (missing.length > 0) throw new ConfigError(`missing ${missing.join(", ")}`);
  if (!/^wss?:\/\/[^\s]+$/.test(server as string))
    throw new ConfigError(`--server must be a ws:// or wss:// URL (got "${server}")`);
  if (!/^[1-9][0-9]{0,19}$/.test(deviceId as string))
    throw new ConfigError("--device-id must be the decimal id returned at registration");
  const dataDir = resolve(pick("data-dir", "CLOUDEDGE_DATA_DIR", "dataDir") ?? "./agent-data");
  const interval = Number(
    pick("status-interval-ms", "CLOUDEDGE_STATUS_INTERVAL_MS", "statusIntervalMs") ?? 15_000,
  );
  if (!Number.isInteger(interval) || interval < 1000)
    throw new ConfigError("--status-interval-ms must be an integer ≥ 1000");
  const logLevel = pick("log-level", "CLOUDEDGE_LOG_LEVEL", "logLevel") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel))
    throw new ConfigError("--log-level must be debug, info, warn or error");
  const caFile = pick("ca-file", "CLOUDEDGE_CA_FILE", "caFile");
  return {
    server: server as string,
    deviceId: deviceId as string,
    secret: secret as string,
    dataDir,
    logDir: resolve(pick("log-dir", "CLOUDEDGE_LOG_DIR", "logDir") ?? join(dataDir, "logs")),
    ...(caFile ? { caFile } : {}),
    insecure: parsed["insecure"] === true || file.insecure === true,
    statusIntervalMs: interval,
    logLevel,
    ...(file.reboot ? { reboot: file.reboot } : {}),
    ...(file.collector !== undefined ? { collector: collectorConfig(file.collector) } : {}),
    ...(file.exec ? { exec: file.exec } : {}),
    ...(file.sftp ? { sftp: file.sftp } : {}),
  };
}

function collectorConfig(value: unknown): CollectorConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ConfigError("collector must be an object");
  const { network, temperature, slowIntervalMs, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ConfigError(`collector has unknown keys: ${unknown.join(", ")}`);
  for (const [key, flag] of Object.entries({ network, temperature }))
    if (flag !== undefined && typeof flag !== "boolean")
      throw new ConfigError(`collector.${key} must be true or false`);
  if (
    slowIntervalMs !== undefined &&
    !(Number.isInteger(slowIntervalMs) && (slowIntervalMs as number) >= 1000)
  )
    throw new ConfigError("collector.slowIntervalMs must be an integer ≥ 1000");
  return {
    ...(network !== undefined ? { network: network as boolean } : {}),
    ...(temperature !== undefined ? { temperature: temperature as boolean } : {}),
    ...(slowIntervalMs !== undefined ? { slowIntervalMs: slowIntervalMs as number } : {}),
  };
}
