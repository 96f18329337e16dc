// The reference server (examples/server/dist) as its operators run it, with --workers: started,
// awaited until ready, its workers found, stopped, its log summarised.
import { spawn } from "node:child_process";
import { existsSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { TOKEN_KEY } from "../fleet-ids.mjs";
import { profiling } from "../servers.mjs";
import { get } from "../util/http.mjs";
import { childrenOf, openFilesLimit } from "../util/procfs.mjs";
import { MYSQL, NATS, sleep, until } from "../util.mjs";

const SERVER = new URL("../../../examples/server/dist/main.js", import.meta.url).pathname;

/** Descriptors a server process needs beside its sessions: listener, stdio, IPC, epoll, MySQL, NATS, logs. */
export const FD_HEADROOM = 1_000;

/**
 * Sessions one server process may hold: `override` (--max-sessions), or else the open-files
 * limit it inherits from us (`ulimit -n`; Node raises its soft limit to the hard one at start)
 * less FD_HEADROOM — one descriptor per session.
 */
export function maxSessionsPerProcess(override) {
  if (override !== undefined) return override;
  const limit = openFilesLimit("self")?.soft;
  if (!Number.isFinite(limit) || limit <= FD_HEADROOM)
    throw new Error(`open-files limit ${limit} leaves no sessions (ulimit -n); pass --max-sessions N`);
  return limit - FD_HEADROOM;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/** Pids started here (the server's primary and its workers): SIGKILLed if the harness exits early. */
const started = new Set();
let exitGuard = false;
function guard(pid) {
  started.add(pid);
  if (exitGuard) return;
  exitGuard = true;
  process.on("exit", () => {
    for (const p of started) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
  });
}

/**
 * `node examples/server/dist/main.js --workers W`, configured through its environment, each
 * process admitting `maxSessions` devices. Logs (warn and up) go to `logFile`.
 */
export async function startServer({
  workers,
  port,
  database,
  natsPrefix,
  dataDir,
  heartbeatMs,
  adminToken,
  logFile,
  maxSessions,
}) {
  if (!existsSync(SERVER))
    throw new Error(`${SERVER} is missing: npx turbo run build --filter=@cloudedge/server`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CLOUDEDGE_")));
  const child = spawn(
    process.execPath,
    // --profile: the primary and (node:cluster passes execArgv on) every worker under --cpu-prof.
    [
      ...profiling.execArgv,
      SERVER,
      "--workers",
      String(workers),
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
    ],
    {
      env: {
        ...env,
        CLOUDEDGE_DB: `${MYSQL}/${database}`,
        CLOUDEDGE_NATS_URL: NATS,
        CLOUDEDGE_NATS_PREFIX: natsPrefix,
        CLOUDEDGE_DATA_DIR: dataDir,
        CLOUDEDGE_TOKEN_KEY: TOKEN_KEY,
        CLOUDEDGE_ADMIN_TOKEN: adminToken,
        CLOUDEDGE_HEARTBEAT_MS: String(heartbeatMs),
        CLOUDEDGE_MAX_SESSIONS: String(maxSessions),
        CLOUDEDGE_BCRYPT_COST: "4",
        // info logs two lines per device (online, offline): 200,000 lines would measure pino.
        CLOUDEDGE_LOG_LEVEL: process.env.CLOUDEDGE_BENCH_SERVER_LOG_LEVEL ?? "warn",
        CLOUDEDGE_SHUTDOWN_SPREAD_MS: "1000",
        // The whole fleet connects from this one address: no per-address connection bound.
        CLOUDEDGE_HTTP_MAX_CONNECTIONS_PER_ADDRESS: "0",
      },
      stdio: ["ignore", "pipe", openSync(logFile, "a")],
    },
  );
  guard(child.pid);
  try {
    return await untilReady(child, { workers, port, logFile });
  } catch (error) {
    // Nothing of it may outlive a failed start (the workers exit with their primary's IPC channel).
    child.kill("SIGKILL");
    throw error;
  }
}

/** Waits for the "listening" line and /readyz; finds the workers (the primary's children). */
async function untilReady(child, { workers, port, logFile }) {
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  const listening = await Promise.race([
    until(() => stdout.includes("listening"), { timeoutMs: 60_000, everyMs: 100 }),
    exited.then((code) => {
      throw new Error(`the server exited (${code}) before listening:\n${tail(logFile)}`);
    }),
  ]);
  if (!listening) throw new Error(`the server did not listen within 60 s:\n${tail(logFile)}`);
  const ready = await until(async () => (await get(port, "/readyz").catch(() => undefined))?.status === 200, {
    timeoutMs: 30_000,
  });
  if (!ready) throw new Error(`the server was not ready within 30 s:\n${tail(logFile)}`);
  // --workers 1 runs the hub in the process itself; otherwise the workers are its children.
  const workerPids = workers > 1 ? childrenOf(child.pid) : [child.pid];
  for (const pid of workerPids) guard(pid);
  if (workerPids.length !== workers)
    throw new Error(`expected ${workers} workers, found ${workerPids.length}`);
  return { child, pid: child.pid, workerPids, primaryPid: workers > 1 ? child.pid : undefined, exited };
}

/** SIGTERM (each worker tells its devices bye, releases presence, closes the store), then SIGKILL. */
export async function stopServer(server, timeoutMs = 120_000) {
  const begun = Date.now();
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGTERM");
  const graceful = await Promise.race([server.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
  for (const pid of [server.pid, ...server.workerPids]) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
    started.delete(pid);
  }
  return { graceful, ms: Date.now() - begun };
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Warnings and errors the server logged, counted by message (pino JSON lines; plain lines as they are). */
export function logSummary(file) {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return { lines: 0, byMessage: {} };
  }
  const byMessage = {};
  let lines = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    lines++;
    let key;
    try {
      const entry = JSON.parse(line);
      key = `${entry.level >= 50 ? "error" : entry.level >= 40 ? "warn" : "info"}: ${entry.msg}${entry.err ? ` (${String(entry.err).slice(0, 80)})` : ""}`;
    } catch {
      key = line.replace(/\d+/g, "N").slice(0, 120);
    }
    byMessage[key] = (byMessage[key] ?? 0) + 1;
  }
  const top = Object.entries(byMessage)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12);
  return { lines, byMessage: Object.fromEntries(top) };
}
