import { parseArgs } from "node:util";
import { type CloudOptions, TrustedProxies } from "@cloudedge/cloud-sdk";
import {
  defaultMaxConnections,
  defaultMaxConnectionsPerAddress,
  type HttpLimits,
} from "./http/server-limits.js";

export interface ServerConfig {
  port: number;
  host: string;
  db: string;
  /** Bound of one store call; past it the call is answered 503 store_unavailable. */
  dbTimeoutMs: number;
  dataDir: string;
  adminToken: string | undefined;
  tokenKey: string | undefined;
  natsUrl: string | undefined;
  /** Prefix of the NATS subjects and buckets of this cluster. */
  natsPrefix: string;
  heartbeatMs: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  metrics: boolean;
  logLevel: string;
  maxSessions: number;
  maxHandshakes: number;
  /** Pending handshakes from one client address before its new connections are told to try later. */
  maxHandshakesPerAddress: number;
  bcryptCost: number;
  bodyLimitBytes: number;
  legacyAuth: boolean;
  shutdownSpreadMs: number;
  /** At shutdown, how long buffered writes may take to reach the store before they are journaled. */
  shutdownFlushMs: number;
  /** Hub processes on this machine sharing the port (node:cluster); >1 needs NATS and a shared store. */
  workers: number;
  /** Proxies whose X-Forwarded-For names the device's address; empty: the TCP peer counts. */
  trustProxy: TrustedProxies;
  /** HTTP server connection limits (docs/operations.md, Limits and quotas). */
  http: HttpLimits;
  /** Per-device and per-token quotas (docs/operations.md, Limits and quotas). */
  quotas: Quotas;
}

/** Per-device quotas on status and commands, and per-token SSE limits. */
export interface Quotas {
  statusPerMinute: number;
  statusBurst: number;
  statusMaxBytes: number;
  statusHistoryBytes: number;
  statusMaxSkewMs: number;
  maxCommands: number;
  maxCommandBytes: number;
  sseStreamsPerToken: number;
  sseMaxBufferBytes: number;
}

/** Every setting: flag, environment variable, default, meaning (also the --help text). */
const SETTINGS = [
  ["port", "PORT", "9090", "HTTP(S) and WebSocket port"],
  ["host", "HOST", "0.0.0.0", "address to listen on"],
  [
    "db",
    "CLOUDEDGE_DB",
    "",
    "store: sqlite:<path> | mysql://user:pass@host:port/db | memory: (default sqlite:<data dir>/cloudedge.db)",
  ],
  [
    "db-timeout-ms",
    "CLOUDEDGE_DB_TIMEOUT_MS",
    "5000",
    "a database call not answered within this fails: REST 503 store_unavailable, /readyz 503",
  ],
  [
    "data-dir",
    "CLOUDEDGE_DATA_DIR",
    "./data",
    "where the SQLite database (by default), the admin token and the token key live",
  ],
  [
    "admin-token",
    "CLOUDEDGE_ADMIN_TOKEN",
    "",
    "admin API token to accept (else one is generated on first start)",
  ],
  [
    "token-key",
    "CLOUDEDGE_TOKEN_KEY",
    "",
    "HMAC key for device resume tokens (else generated into the data dir)",
  ],
  ["nats-url", "CLOUDEDGE_NATS_URL", "", "NATS server for cluster mode"],
  [
    "nats-prefix",
    "CLOUDEDGE_NATS_PREFIX",
    "cloudedge",
    "NATS subject and bucket prefix: clusters sharing one NATS server need different ones",
  ],
  ["heartbeat-ms", "CLOUDEDGE_HEARTBEAT_MS", "30000", "device heartbeat interval"],
  ["tls-cert", "CLOUDEDGE_TLS_CERT", "", "PEM certificate file: serve HTTPS and wss://"],
  ["tls-key", "CLOUDEDGE_TLS_KEY", "", "PEM private key file for --tls-cert"],
  ["metrics", "CLOUDEDGE_METRICS", "on", "serve /metrics (on|off)"],
  ["log-level", "CLOUDEDGE_LOG_LEVEL", "info", "debug | info | warn | error"],
  ["max-sessions", "CLOUDEDGE_MAX_SESSIONS", "19000", "device sessions per process before 'try later'"],
  ["max-handshakes", "CLOUDEDGE_MAX_HANDSHAKES", "10000", "concurrent handshakes before 'try later'"],
  [
    "handshakes-per-ip",
    "CLOUDEDGE_HANDSHAKES_PER_IP",
    "32",
    "pending handshakes from one client address (after --trust-proxy) before 'try later'",
  ],
  ["bcrypt-cost", "CLOUDEDGE_BCRYPT_COST", "10", "bcrypt cost for device secrets (≥10 in production)"],
  ["body-limit", "CLOUDEDGE_BODY_LIMIT", "1048576", "largest REST request body in bytes"],
  [
    "legacy-auth",
    "CLOUDEDGE_LEGACY_AUTH",
    "on",
    "require an API token on /service/devices_manage/* (on|off)",
  ],
  [
    "shutdown-spread-ms",
    "CLOUDEDGE_SHUTDOWN_SPREAD_MS",
    "30000",
    "devices are told to come back within this after a shutdown",
  ],
  [
    "shutdown-flush-ms",
    "CLOUDEDGE_SHUTDOWN_FLUSH_MS",
    "5000",
    "at shutdown, buffered writes get this long to reach the store; the rest goes to the journal in the data dir",
  ],
  [
    "workers",
    "CLOUDEDGE_WORKERS",
    "1",
    "hub processes sharing the port on this machine (needs --nats-url and a shared store)",
  ],
  [
    "trust-proxy",
    "CLOUDEDGE_TRUST_PROXY",
    "",
    "addresses/CIDRs of proxies whose X-Forwarded-For gives the device address (e.g. 10.0.0.0/8)",
  ],
  [
    "http-max-connections",
    "CLOUDEDGE_HTTP_MAX_CONNECTIONS",
    "",
    "open connections, device WebSockets included, before new ones are closed (default: sessions + handshakes + 1024, below the open-file limit)",
  ],
  [
    "http-max-connections-per-address",
    "CLOUDEDGE_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
    "",
    "HTTP connections (device WebSockets not counted) per client address; trusted proxies exempt (default: a quarter of the maximum)",
  ],
  ["http-headers-timeout-ms", "CLOUDEDGE_HTTP_HEADERS_TIMEOUT_MS", "20000", "time to send request headers"],
  ["http-request-timeout-ms", "CLOUDEDGE_HTTP_REQUEST_TIMEOUT_MS", "120000", "time to send a whole request"],
  [
    "http-keep-alive-timeout-ms",
    "CLOUDEDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS",
    "65000",
    "idle keep-alive connections are closed after this (keep it above the proxy's)",
  ],
  [
    "http-idle-timeout-ms",
    "CLOUDEDGE_HTTP_IDLE_TIMEOUT_MS",
    "20000",
    "a new connection that sends no request within this is closed",
  ],
  [
    "status-per-minute",
    "CLOUDEDGE_STATUS_PER_MINUTE",
    "120",
    "status reports per minute per device (sustained)",
  ],
  ["status-burst", "CLOUDEDGE_STATUS_BURST", "1000", "status reports a device may send at once (its outbox)"],
  ["status-max-bytes", "CLOUDEDGE_STATUS_MAX_BYTES", "65536", "largest status report (data as JSON)"],
  [
    "status-history-bytes",
    "CLOUDEDGE_STATUS_HISTORY_BYTES",
    "67108864",
    "stored status history per device; the oldest is pruned beyond it",
  ],
  [
    "status-max-skew-ms",
    "CLOUDEDGE_STATUS_MAX_SKEW_MS",
    "300000",
    "a status ts further ahead of server time is clamped to it",
  ],
  ["max-commands", "CLOUDEDGE_MAX_COMMANDS", "100", "unfinished commands per device"],
  [
    "max-command-bytes",
    "CLOUDEDGE_MAX_COMMAND_BYTES",
    "1048576",
    "params bytes of unfinished commands per device",
  ],
  ["sse-streams-per-token", "CLOUDEDGE_SSE_STREAMS_PER_TOKEN", "10", "open event streams per API token"],
  [
    "sse-max-buffer-bytes",
    "CLOUDEDGE_SSE_MAX_BUFFER_BYTES",
    "1048576",
    "unsent bytes of an event stream before it is closed as too slow",
  ],
] as const;

export function helpText(): string {
  const rows = SETTINGS.map(
    ([flag, env, def, meaning]) =>
      `  --${flag.padEnd(20)} ${env.padEnd(30)} ${meaning}${def ? ` (default ${def})` : ""}`,
  );
  return [
    "Usage: cloudedge-server [options]",
    "",
    "Every option can also be set by its environment variable.",
    "",
    ...rows,
    "  --help",
  ].join("\n");
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be an integer in ${min}..${max} (got "${value}")`);
  return n;
}

function onOff(name: string, value: string): boolean {
  if (/^(on|true|1|yes)$/i.test(value)) return true;
  if (/^(off|false|0|no)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be on or off (got "${value}")`);
}

function trustedProxies(value: string): TrustedProxies {
  try {
    return TrustedProxies.parse(value);
  } catch (error) {
    throw new ConfigError(`CLOUDEDGE_TRUST_PROXY: ${(error as Error).message}`);
  }
}

/** The HTTP server's connection limits; the headers must be able to arrive within the request time. */
function httpLimits(get: (flag: string) => string): HttpLimits {
  const ms = (flag: string, env: string) => integer(env, get(flag), 1, 3_600_000);
  const maxConnections = get("http-max-connections")
    ? integer("CLOUDEDGE_HTTP_MAX_CONNECTIONS", get("http-max-connections"), 1, 10_000_000)
    : defaultMaxConnections(
        integer("CLOUDEDGE_MAX_SESSIONS", get("max-sessions"), 1, 10_000_000),
        integer("CLOUDEDGE_MAX_HANDSHAKES", get("max-handshakes"), 1, 1_000_000),
      );
  const perAddress = get("http-max-connections-per-address");
  const limits: HttpLimits = {
    maxConnections,
    maxConnectionsPerAddress: perAddress
      ? integer("CLOUDEDGE_HTTP_MAX_CONNECTIONS_PER_ADDRESS", perAddress, 0, 10_000_000)
      : defaultMaxConnectionsPerAddress(maxConnections),
    headersTimeoutMs: ms("http-headers-timeout-ms", "CLOUDEDGE_HTTP_HEADERS_TIMEOUT_MS"),
    requestTimeoutMs: ms("http-request-timeout-ms", "CLOUDEDGE_HTTP_REQUEST_TIMEOUT_MS"),
    keepAliveTimeoutMs: ms("http-keep-alive-timeout-ms", "CLOUDEDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS"),
    idleTimeoutMs: ms("http-idle-timeout-ms", "CLOUDEDGE_HTTP_IDLE_TIMEOUT_MS"),
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new ConfigError(
      "CLOUDEDGE_HTTP_HEADERS_TIMEOUT_MS must not exceed CLOUDEDGE_HTTP_REQUEST_TIMEOUT_MS",
    );
  return limits;
}

function quotas(get: (flag: string) => string): Quotas {
  const n = (flag: string, min: number, max: number) => {
    const setting = SETTINGS.find(([f]) => f === flag) as (typeof SETTINGS)[number];
    return integer(setting[1], get(flag), min, max);
  };
  return {
    statusPerMinute: n("status-per-minute", 1, 1_000_000),
    statusBurst: n("status-burst", 1, 1_000_000),
    statusMaxBytes: n("status-max-bytes", 1024, 1 << 30),
    statusHistoryBytes: n("status-history-bytes", 1024, Number.MAX_SAFE_INTEGER),
    statusMaxSkewMs: n("status-max-skew-ms", 0, 86_400_000),
    maxCommands: n("max-commands", 1, 1_000_000),
    maxCommandBytes: n("max-command-bytes", 1024, 1 << 30),
    sseStreamsPerToken: n("sse-streams-per-token", 1, 1_000_000),
    sseMaxBufferBytes: n("sse-max-buffer-bytes", 1024, 1 << 30),
  };
}

/** Flags win over environment variables, which win over defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | "help" {
  const { values: parsed } = parseArgs({
    args: argv,
    options: Object.fromEntries([
      ...SETTINGS.map(([flag]) => [flag, { type: "string" as const }]),
      ["help", { type: "boolean" as const }],
    ]),
    strict: true,
  });
  const values = parsed as Record<string, string | boolean | undefined>;
  if (values["help"]) return "help";
  const get = (flag: string): string => {
    const setting = SETTINGS.find(([f]) => f === flag)!;
    return (values[flag] as string | undefined) ?? env[setting[1]] ?? setting[2];
  };
  const optional = (flag: string) => get(flag) || undefined;
  const config: ServerConfig = {
    port: integer("PORT", get("port"), 0, 65535),
    host: get("host"),
    db: get("db") || `sqlite:${get("data-dir").replace(/\/+$/, "")}/cloudedge.db`,
    dbTimeoutMs: integer("CLOUDEDGE_DB_TIMEOUT_MS", get("db-timeout-ms"), 100, 600_000),
    dataDir: get("data-dir"),
    adminToken: optional("admin-token"),
    tokenKey: optional("token-key"),
    natsUrl: optional("nats-url"),
    natsPrefix: get("nats-prefix"),
    heartbeatMs: integer("CLOUDEDGE_HEARTBEAT_MS", get("heartbeat-ms"), 1000, 3_600_000),
    tlsCert: optional("tls-cert"),
    tlsKey: optional("tls-key"),
    metrics: onOff("CLOUDEDGE_METRICS", get("metrics")),
    logLevel: get("log-level"),
    maxSessions: integer("CLOUDEDGE_MAX_SESSIONS", get("max-sessions"), 1, 10_000_000),
    maxHandshakes: integer("CLOUDEDGE_MAX_HANDSHAKES", get("max-handshakes"), 1, 1_000_000),
    maxHandshakesPerAddress: integer("CLOUDEDGE_HANDSHAKES_PER_IP", get("handshakes-per-ip"), 1, 1_000_000),
    bcryptCost: integer("CLOUDEDGE_BCRYPT_COST", get("bcrypt-cost"), 4, 31),
    bodyLimitBytes: integer("CLOUDEDGE_BODY_LIMIT", get("body-limit"), 1024, 1 << 30),
    legacyAuth: onOff("CLOUDEDGE_LEGACY_AUTH", get("legacy-auth")),
    shutdownSpreadMs: integer("CLOUDEDGE_SHUTDOWN_SPREAD_MS", get("shutdown-spread-ms"), 0, 3_600_000),
    shutdownFlushMs: integer("CLOUDEDGE_SHUTDOWN_FLUSH_MS", get("shutdown-flush-ms"), 0, 600_000),
    workers: integer("CLOUDEDGE_WORKERS", get("workers"), 1, 64),
    trustProxy: trustedProxies(get("trust-proxy")),
    http: httpLimits(get),
    quotas: quotas(get),
  };
  if (config.workers > 1 && !config.natsUrl) {
    throw new ConfigError(
      "--workers > 1 needs CLOUDEDGE_NATS_URL: workers find each other's devices through NATS",
    );
  }
  if (config.workers > 1 && config.db === "memory:") {
    throw new ConfigError("--workers > 1 needs a shared store (mysql://… or sqlite:<file>), not memory:");
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(config.natsPrefix))
    throw new ConfigError("CLOUDEDGE_NATS_PREFIX must be 1–64 letters, digits, '_' or '-'");
  if (!["debug", "info", "warn", "error"].includes(config.logLevel))
    throw new ConfigError("CLOUDEDGE_LOG_LEVEL must be debug, info, warn or error");
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey))
    throw new ConfigError("CLOUDEDGE_TLS_CERT and CLOUDEDGE_TLS_KEY go together");
  if (config.adminToken !== undefined && config.adminToken.length < 32)
    throw new ConfigError(
      "CLOUDEDGE_ADMIN_TOKEN must be at least 32 characters (e.g. `openssl rand -base64 32`), or unset to have one generated",
    );
  if (config.tokenKey !== undefined && Buffer.byteLength(config.tokenKey) < 32)
    throw new ConfigError("CLOUDEDGE_TOKEN_KEY must be at least 32 bytes");
  return config;
}

/** The Cloud options the per-device quotas become. */
export function quotaOptions(q: Quotas): Pick<CloudOptions, "status" | "commands"> {
  return {
    status: {
      quota: {
        reportsPerMinute: q.statusPerMinute,
        burst: q.statusBurst,
        maxReportBytes: q.statusMaxBytes,
        maxClockSkewMs: q.statusMaxSkewMs,
      },
      retention: { maxBytesPerDevice: q.statusHistoryBytes },
    },
    commands: { quota: { maxActive: q.maxCommands, maxActiveBytes: q.maxCommandBytes } },
  };
}
