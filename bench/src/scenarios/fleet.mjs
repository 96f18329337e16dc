// fleet: how many devices this one machine holds with the reference server's --workers (issue #7:
// target ≥ 100,000). The real server (examples/server/dist) runs with ceil(N / 17,000) workers
// over a fresh MySQL database and NATS; the fleet is registered straight into MySQL and resumes
// with tokens signed by the server's key. Measured while the whole fleet heartbeats: RSS per
// worker and per connection (over an empty-server baseline), device-side ping → pong round trip,
// the workers' event-loop lag (from /metrics), CPU of the machine, MariaDB and NATS — then ~20
// commands through the REST API prove the cluster routes to every worker at that size.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, openStore } from "@cloudedge/cloud-sdk";
import { deviceId, FLEET_SECRET, TOKEN_KEY } from "../fleet-ids.mjs";
import { Fleet, MAX_PER_PROCESS } from "../load/fleet.mjs";
import { profiling } from "../servers.mjs";
import {
  cpuWindow,
  dropMysql,
  dropNatsPrefix,
  MiB,
  MYSQL,
  mariadbPid,
  median,
  mysqlClient,
  NATS,
  natsPid,
  progress,
  round,
  scratchNatsPrefix,
  sleep,
  until,
} from "../util.mjs";

const SERVER = new URL("../../../examples/server/dist/main.js", import.meta.url).pathname;
/** Devices per worker process: under the 20,000 open files per process, like MAX_PER_PROCESS. */
export const PER_WORKER = 17_000;
/** The measured window is at least this long, whatever --duration says. */
const MIN_HOLD_S = 20;
const COMMANDS = 20;

// ---- /proc ---------------------------------------------------------------------------------

/** VmRSS of a process in bytes, or undefined when it is gone. */
function rssOf(pid) {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

function fdsOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

function openFilesLimit(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const [soft, hard] = line?.split(/\s{2,}/).slice(1, 3) ?? [];
    return { soft: Number(soft), hard: Number(hard) };
  } catch {
    return undefined;
  }
}

function meminfo() {
  const text = readFileSync("/proc/meminfo", "utf8");
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { total: kb("MemTotal"), available: kb("MemAvailable") };
}

/** Kernel memory of TCP sockets (pages → bytes) from /proc/net/sockstat. */
function tcpMemBytes() {
  try {
    const pages = /TCP:.* mem (\d+)/.exec(readFileSync("/proc/net/sockstat", "utf8"))?.[1];
    return pages === undefined ? undefined : Number(pages) * 4096;
  } catch {
    return undefined;
  }
}

function childrenOf(pid) {
  try {
    return execFileSync("ps", ["--ppid", String(pid), "-o", "pid="], { encoding: "utf8" })
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

// ---- MySQL ---------------------------------------------------------------------------------

/**
 * A fresh database with the schema (the store's own migrations) and devices 0…N−1 of
 * fleet-ids.mjs sharing one secret hash: device 0 through the store, the rest copied from it
 * by INSERT … SELECT, doubling each time (17 statements for 100,000 devices).
 */
async function registerFleet(database, devices) {
  const store = await openStore(`${MYSQL}/${database}`);
  try {
    await store.devices.create({
      id: deviceId(0),
      name: "bench-0",
      // Tokens are the credential here; the secret only backs a rejected token up (cost 4: cheap).
      secretHash: await hashSecret(FLEET_SECRET, 4),
      createdAt: Date.now(),
    });
  } finally {
    await store.close();
  }
  const base = deviceId(0);
  const copied =
    "type, description, labels, disabled, secret_hash, generation, serial_number, model, nics, software, " +
    "online, connected_at, last_seen_at, created_at, updated_at";
  const statements = [];
  for (let have = 1; have < devices; have *= 2) {
    statements.push(
      `INSERT INTO devices (id, name, ${copied}) SELECT id + ${have}, CONCAT('bench-', id - ${base} + ${have}), ` +
        `${copied} FROM devices WHERE id < ${base} + ${Math.min(have, devices - have)};`,
    );
  }
  if (statements.length > 0) mysqlClient(statements.join("\n"), database);
}

// ---- the server ----------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/** Pids this scenario started (the server's primary and its workers): SIGKILLed if the harness exits early. */
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
 * The reference server as its operators run it: `node examples/server/dist/main.js --workers W`,
 * configured through its environment. Logs (warn and up) go to `logFile`.
 */
async function startServer({
  workers,
  port,
  database,
  natsPrefix,
  dataDir,
  heartbeatMs,
  adminToken,
  logFile,
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
        CLOUDEDGE_BCRYPT_COST: "4",
        // info logs two lines per device (online, offline): 200,000 lines would measure pino.
        CLOUDEDGE_LOG_LEVEL: process.env.CLOUDEDGE_BENCH_SERVER_LOG_LEVEL ?? "warn",
        CLOUDEDGE_SHUTDOWN_SPREAD_MS: "1000",
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
async function stopServer(server, timeoutMs = 120_000) {
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
function logSummary(file) {
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

// ---- HTTP ----------------------------------------------------------------------------------

/** One request on a fresh connection (agent: false), so node:cluster hands each to the next worker. */
function http(port, method, path, { body, token, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent: false,
        timeout: timeoutMs,
        headers: {
          ...(payload
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}
const get = (port, path) => http(port, "GET", path, { timeoutMs: 10_000 });

/** The few Prometheus samples we read, by name (labels kept in the key). */
function parseMetrics(text) {
  const values = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values[line.slice(0, space)] = Number(line.slice(space + 1));
  }
  return values;
}

/**
 * Scrapes /metrics `n` times on fresh connections. Each scrape lands on one worker (the
 * primary deals connections round robin) and prom-client resets that worker's event-loop
 * histogram on each scrape, so the lag figures cover the time since that worker's previous
 * scrape. /metrics carries no pid: a scrape is attributed to the worker whose open files,
 * counted right after, are nearest to the process_open_fds it reported (one per device, so
 * distinct and steady while the fleet is held), VmRSS breaking ties.
 */
async function scrape(port, workerPids, n) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const res = await get(port, "/metrics").catch(() => undefined);
    if (res?.status !== 200) continue;
    const m = parseMetrics(res.text);
    const fds = m.cloudedge_process_process_open_fds ?? 0;
    const rss = m.cloudedge_process_process_resident_memory_bytes ?? 0;
    let pid;
    let best = Number.POSITIVE_INFINITY;
    for (const candidate of workerPids) {
      const distance =
        Math.abs((fdsOf(candidate) ?? 0) - fds) * 2 ** 40 + Math.abs((rssOf(candidate) ?? 0) - rss);
      if (distance < best) {
        best = distance;
        pid = candidate;
      }
    }
    samples.push({
      pid,
      sessions: m.cloudedge_connected_devices,
      lagP50Ms: round((m.cloudedge_process_nodejs_eventloop_lag_p50_seconds ?? Number.NaN) * 1000, 1),
      lagP99Ms: round((m.cloudedge_process_nodejs_eventloop_lag_p99_seconds ?? Number.NaN) * 1000, 1),
      lagMaxMs: round((m.cloudedge_process_nodejs_eventloop_lag_max_seconds ?? Number.NaN) * 1000, 1),
      tryLater: m.cloudedge_connections_refused_total,
      heartbeatTimeouts: m['cloudedge_sessions_closed_total{cause="heartbeat_timeout"}'],
      backpressureCloses: m['cloudedge_sessions_closed_total{cause="backpressure"}'],
      pendingHandshakes: m.cloudedge_pending_handshakes,
    });
  }
  return samples;
}

// ---- commands through the REST API --------------------------------------------------------

/** `count` random devices each get one command with wait: true, through whichever worker takes the call. */
async function commandCheck(port, adminToken, devices, count) {
  const outcomes = [];
  for (let k = 0; k < count; k++) {
    const id = deviceId(Math.floor(Math.random() * devices));
    const begun = performance.now();
    try {
      const res = await http(port, "POST", `/api/v1/devices/${id}/commands`, {
        token: adminToken,
        body: { method: "system.ping", params: { k }, wait: true, timeoutMs: 10_000 },
        timeoutMs: 20_000,
      });
      const body = JSON.parse(res.text || "{}");
      outcomes.push({
        ok: res.status === 200 && body.status === "SUCCEEDED",
        http: res.status,
        status: body.status ?? body.code,
        ms: round(performance.now() - begun, 1),
      });
    } catch (error) {
      outcomes.push({
        ok: false,
        http: 0,
        status: String(error.message ?? error),
        ms: round(performance.now() - begun, 1),
      });
    }
  }
  return outcomes;
}

// ---- the scenario --------------------------------------------------------------------------

const sum = (values) => values.reduce((a, b) => a + (b ?? 0), 0);
const mib = (bytes) => (bytes === undefined ? undefined : round(bytes / MiB, 1));

function rssSnapshot(server) {
  return {
    workers: server.workerPids.map((pid) => rssOf(pid)),
    primary: server.primaryPid ? rssOf(server.primaryPid) : 0,
  };
}

/** Median per worker (and of the primary) over snapshots. */
function medianRss(snapshots) {
  const workers = snapshots[0].workers.map((_, i) => median(snapshots.map((s) => s.workers[i] ?? 0)));
  return { workers, primary: median(snapshots.map((s) => s.primary ?? 0)) };
}

/**
 * @param {{devices: number, durationS: number, heartbeatMs: number, workers?: number}} options
 */
export async function fleet(options) {
  const { devices, heartbeatMs } = options;
  const workers = options.workers ?? Math.max(1, Math.ceil(devices / PER_WORKER));
  // At least one heartbeat interval, so every device pings (and is timed) in the window.
  const holdS = Math.max(options.durationS, MIN_HOLD_S, Math.ceil(heartbeatMs / 1000));
  const database = `cloudedge_bench_fleet_${process.pid}_${Date.now()}`;
  const natsPrefix = scratchNatsPrefix("fleet");
  const dataDir = mkdtempSync(join(tmpdir(), "cloudedge-bench-fleet-"));
  const logFile = join(dataDir, "server.log");
  const adminToken = `ce_bench_${randomBytes(24).toString("hex")}`;
  const generators = Math.max(2, Math.ceil(devices / MAX_PER_PROCESS));
  progress(`fleet: ${devices} devices, ${workers} server workers, ${generators} generator processes`);

  let server;
  let fleetLoad;
  let dbCreated = false;
  try {
    const registerBegun = performance.now();
    dbCreated = true;
    await registerFleet(database, devices);
    const registerMs = Math.round(performance.now() - registerBegun);
    progress(`fleet: ${devices} devices registered in MySQL ${database} in ${registerMs} ms`);

    const port = await freePort();
    server = await startServer({
      workers,
      port,
      database,
      natsPrefix,
      dataDir,
      heartbeatMs,
      adminToken,
      logFile,
    });
    progress(`fleet: server up on :${port}, primary ${server.pid}, workers ${server.workerPids.join(", ")}`);
    const fdLimit = openFilesLimit(server.workerPids[0]);

    // Empty-server baseline: same server, no devices, after a few seconds to settle.
    await sleep(3_000);
    const idleWindow = cpuWindow(
      Object.fromEntries([
        ...server.workerPids.map((pid, i) => [`w${i + 1}`, pid]),
        ...(server.primaryPid ? [["primary", server.primaryPid]] : []),
      ]),
    );
    const baselineSnaps = [];
    for (let i = 0; i < 5; i++) {
      baselineSnaps.push(rssSnapshot(server));
      await sleep(1_000);
    }
    const baseline = medianRss(baselineSnaps);
    const idle = idleWindow();
    // CPU of the empty server (% of one core): the fixed cost under the per-device figures.
    const idleCpu = {
      workersCpuPct: round(sum(server.workerPids.map((_, i) => idle[`w${i + 1}CpuPct`])), 1),
      primaryCpuPct: idle.primaryCpuPct,
    };
    const memBaseline = meminfo();
    const tcpMemBaseline = tcpMemBytes();
    progress(
      `fleet: empty server: workers ${baseline.workers.map((b) => mib(b)).join(", ")} MiB, primary ${mib(baseline.primary)} MiB`,
    );

    const url = `ws://127.0.0.1:${port}/ws`;
    fleetLoad = await new Fleet({ devices, url, mode: "hub", processes: generators }).ready();
    const pids = Object.fromEntries([
      ...server.workerPids.map((pid, i) => [`w${i + 1}`, pid]),
      ...(server.primaryPid ? [["primary", server.primaryPid]] : []),
      ...(mariadbPid() ? [["mariadb", mariadbPid()]] : []),
      ...(natsPid() ? [["nats", natsPid()]] : []),
    ]);
    // CPU over a window, % of one core per process; the machine's in % of all cores. "others" is
    // what the machine spent beyond the server, MariaDB, NATS and the generators (a shared machine).
    const cpuMeter = async () => {
      const stop = cpuWindow(pids);
      const from = await fleetLoad.stats();
      const at = performance.now();
      return async () => {
        const window = stop();
        const to = await fleetLoad.stats();
        const figures = {
          machineBusyPct: window.machineBusyPct,
          workersCpuPct: round(sum(server.workerPids.map((_, i) => window[`w${i + 1}CpuPct`])), 1),
          perWorkerCpuPct: server.workerPids.map((_, i) => window[`w${i + 1}CpuPct`]),
          primaryCpuPct: window.primaryCpuPct,
          mariadbCpuPct: window.mariadbCpuPct,
          natsCpuPct: window.natsCpuPct,
          generatorsCpuPct: round((to.cpuUs - from.cpuUs) / 10 / (performance.now() - at), 1),
        };
        const ours =
          figures.workersCpuPct +
          (figures.primaryCpuPct ?? 0) +
          (figures.mariadbCpuPct ?? 0) +
          (figures.natsCpuPct ?? 0) +
          figures.generatorsCpuPct;
        figures.othersCpuPct = round(Math.max(0, window.machineBusyPct * cpus().length - ours), 1);
        return { figures, stats: to };
      };
    };

    // Connect: the ping ticker already runs at the nominal rate, so devices heartbeat as they come.
    await fleetLoad.rates({ ping: (devices * 1000) / heartbeatMs });
    const genBefore = await fleetLoad.stats();
    const connectCpu = await cpuMeter();
    let lastReport = 0;
    const watcher = setInterval(async () => {
      const s = await fleetLoad.stats().catch(() => undefined);
      if (s && s.online !== lastReport) {
        lastReport = s.online;
        progress(`fleet: ${s.online}/${devices} online`);
      }
    }, 5_000);
    // Generous: on a shared 2-core machine 100,000 handshakes have taken several minutes.
    const connectTimeoutMs = Math.max(120_000, devices * 15);
    const connect = await Promise.race([
      fleetLoad.connect(),
      sleep(connectTimeoutMs).then(() => undefined),
    ]).finally(() => clearInterval(watcher));
    const { figures: connectWindow, stats: afterConnect } = await connectCpu();
    const connectMs = connect?.ms ?? connectTimeoutMs;
    const connected = afterConnect.online;
    progress(
      `fleet: ${connected}/${devices} online after ${connectMs} ms${connect ? "" : " (connect timed out)"}` +
        ` (${Math.round((connected * 1000) / Math.max(1, connectMs))}/s), machine ${connectWindow.machineBusyPct} %`,
    );

    // Hold: settle, reset the workers' lag histograms, then the measured window.
    await sleep(5_000);
    await scrape(port, server.workerPids, workers * 2);
    const before = await fleetLoad.stats();
    await fleetLoad.rttStart();
    const holdCpu = await cpuMeter();
    const holdBegun = performance.now();
    const holdSnaps = [];
    const scrapes = [];
    const holdEnd = Date.now() + holdS * 1000;
    while (Date.now() < holdEnd) {
      await sleep(Math.min(5_000, Math.max(0, holdEnd - Date.now())));
      holdSnaps.push(rssSnapshot(server));
      scrapes.push(...(await scrape(port, server.workerPids, workers * 2)));
    }
    const { figures: holdWindow, stats: after } = await holdCpu();
    const rtt = await fleetLoad.rttStop();
    // The last round of samples runs past the nominal end: rates are over the real window.
    const holdElapsedS = (performance.now() - holdBegun) / 1000;
    const memHeld = meminfo();
    const tcpMemHeld = tcpMemBytes();
    const fds = server.workerPids.map((pid) => fdsOf(pid));
    const held = medianRss(holdSnaps);
    const last = holdSnaps.at(-1);
    const workerRssHeld = sum(held.workers);
    const workerRssBaseline = sum(baseline.workers);
    const rssPerConnBytes =
      connected > 0 ? Math.round((workerRssHeld - workerRssBaseline) / connected) : undefined;

    // Per worker: RSS, fds and the lag its scrapes reported.
    const perWorker = server.workerPids.map((pid, i) => {
      const mine = scrapes.filter((s) => s.pid === pid);
      return {
        pid,
        sessions: mine.at(-1)?.sessions,
        baselineRssMiB: mib(baseline.workers[i]),
        rssMiB: mib(held.workers[i]),
        rssEndMiB: mib(last.workers[i]),
        bytesPerConn:
          mine.at(-1)?.sessions > 0
            ? Math.round((held.workers[i] - baseline.workers[i]) / mine.at(-1).sessions)
            : undefined,
        fds: fds[i],
        cpuPct: holdWindow.perWorkerCpuPct[i],
        scrapes: mine.length,
        lagP50Ms: mine.length ? round(median(mine.map((s) => s.lagP50Ms)), 1) : undefined,
        lagP99Ms: mine.length ? Math.max(...mine.map((s) => s.lagP99Ms)) : undefined,
        lagMaxMs: mine.length ? Math.max(...mine.map((s) => s.lagMaxMs)) : undefined,
      };
    });
    const lagP99s = scrapes.map((s) => s.lagP99Ms).filter(Number.isFinite);
    const pingsInWindow = after.pingsSent - before.pingsSent;
    const pongsInWindow = after.pongs - before.pongs;
    const closesInWindow = after.closes - before.closes;
    const heartbeat = {
      pingsPerS: round(pingsInWindow / holdElapsedS),
      pongsPerS: round(pongsInWindow / holdElapsedS),
      rttSamples: rtt.totalCount,
      rttP50Ms: round(rtt.getValueAtPercentile(50) / 1000, 2),
      rttP90Ms: round(rtt.getValueAtPercentile(90) / 1000, 2),
      rttP99Ms: round(rtt.getValueAtPercentile(99) / 1000, 2),
      rttP999Ms: round(rtt.getValueAtPercentile(99.9) / 1000, 2),
      rttMaxMs: round(rtt.maxValue / 1000, 2),
    };
    progress(
      `fleet: held ${after.online}/${devices} for ${holdS} s: workers ${mib(workerRssHeld)} MiB ` +
        `(${rssPerConnBytes} B/conn over the empty server), primary ${mib(held.primary)} MiB; ` +
        `ping→pong p50 ${heartbeat.rttP50Ms} ms p99 ${heartbeat.rttP99Ms} ms; worker lag p99 (max of scrapes) ` +
        `${lagP99s.length ? Math.max(...lagP99s) : "—"} ms; machine ${holdWindow.machineBusyPct} %, ` +
        `mariadb ${holdWindow.mariadbCpuPct ?? "—"} %, nats ${holdWindow.natsCpuPct ?? "—"} %`,
    );

    // The cluster works at that size: commands to random devices through any worker.
    const outcomes = await commandCheck(port, adminToken, devices, COMMANDS);
    const commandsOk = outcomes.filter((o) => o.ok).length;
    const commandMs = outcomes
      .filter((o) => o.ok)
      .map((o) => o.ms)
      .sort((a, b) => a - b);
    progress(
      `fleet: commands ${commandsOk}/${outcomes.length} succeeded (median ${median(commandMs)} ms, max ${commandMs.at(-1)} ms)`,
    );
    const final = await fleetLoad.stats();

    const memUsed = memBaseline.available - memHeld.available;
    const generatorsRss = final.rss;
    const limits = {
      openFilesPerProcess: fdLimit?.hard,
      maxWorkerFds: Math.max(...fds.filter((n) => n !== undefined)),
      maxSessionsPerWorker: 19_000,
      maxWorkerSessions: Math.max(...perWorker.map((w) => w.sessions ?? 0)),
      machineMemTotalMiB: mib(memHeld.total),
      machineMemAvailableMiB: mib(memHeld.available),
      // Server, generators and kernel together; meaningless (other processes) when not positive.
      machineBytesPerDevice: connected > 0 && memUsed > 0 ? Math.round(memUsed / connected) : undefined,
      tcpKernelMemMiB: mib(tcpMemHeld),
      tcpKernelBytesPerDevice:
        connected > 0 && tcpMemHeld !== undefined
          ? Math.round((tcpMemHeld - (tcpMemBaseline ?? 0)) / connected)
          : undefined,
      generatorsRssMiB: mib(generatorsRss),
      connectMachineBusyPct: connectWindow.machineBusyPct,
      holdMachineBusyPct: holdWindow.machineBusyPct,
    };
    // Devices the machine's free memory would still take at this cost (server + generators + kernel).
    limits.memoryProjectedDevices =
      limits.machineBytesPerDevice > 0
        ? Math.round(connected + memHeld.available / limits.machineBytesPerDevice)
        : undefined;
    // Refused by admission control: close 4008 seen by the devices, and the workers' own counters.
    const lastScrape = new Map(scrapes.map((s) => [s.pid, s]));
    const serverTryLater = sum([...lastScrape.values()].map((s) => s.tryLater));
    const figures = {
      devices,
      workers,
      generators,
      heartbeatMs,
      holdS,
      holdElapsedS: round(holdElapsedS, 1),
      registerMs,
      connected,
      connectFailed: connect?.failed ?? devices - connected,
      connectMs,
      connectPerS: Math.round((connected * 1000) / Math.max(1, connectMs)),
      connectCpu: connectWindow,
      tryLater: afterConnect.closeCodes["4008"] ?? 0,
      serverTryLater,
      closeCodes: afterConnect.closeCodes,
      errors: afterConnect.errors,
      handshakeFailures: afterConnect.handshakeFailures - genBefore.handshakeFailures,
      heldAtEnd: after.online,
      closesDuringHold: closesInWindow,
      workerRssBaselineMiB: mib(workerRssBaseline),
      workerRssMiB: mib(workerRssHeld),
      rssPerConnBytes,
      primaryRssBaselineMiB: mib(baseline.primary),
      primaryRssMiB: mib(held.primary),
      perWorker,
      heartbeat,
      rttP50Ms: heartbeat.rttP50Ms,
      rttP99Ms: heartbeat.rttP99Ms,
      workerLagP50Ms: lagP99s.length ? round(median(scrapes.map((s) => s.lagP50Ms)), 1) : undefined,
      workerLagP99Ms: lagP99s.length ? round(median(lagP99s), 1) : undefined,
      workerLagP99MaxMs: lagP99s.length ? Math.max(...lagP99s) : undefined,
      lagScrapes: scrapes.length,
      idleCpu,
      holdCpu: holdWindow,
      commandsSent: outcomes.length,
      commandsOk,
      commandMs: { p50: median(commandMs), max: commandMs.at(-1) },
      commandFailures: outcomes.filter((o) => !o.ok),
      limits,
    };
    if (server.primaryPid) {
      const alive = new Set(childrenOf(server.primaryPid));
      figures.workersRestarted = server.workerPids.filter((pid) => !alive.has(pid)).length;
    }
    figures.limitedBy = limitedBy(figures);
    progress(`fleet: ${figures.limitedBy}`);
    return figures;
  } finally {
    if (fleetLoad) await fleetLoad.close().catch(() => {});
    if (server) {
      // Every device's offline write and presence release happen before the workers exit.
      const stop = await stopServer(server, Math.max(60_000, devices * 2));
      progress(
        `fleet: server stopped in ${stop.ms} ms${stop.graceful ? "" : " (killed after the grace period)"}`,
      );
      const log = logSummary(logFile);
      if (log.lines > 0) progress(`fleet: server log: ${log.lines} lines: ${JSON.stringify(log.byMessage)}`);
    }
    if (dbCreated) dropMysql(database);
    if (server) await dropNatsPrefix(natsPrefix);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A CPU window in words: the machine, and who used it (% of one core each). */
function cpuText(c) {
  return (
    `machine ${c.machineBusyPct} % busy: server ${round(c.workersCpuPct + (c.primaryCpuPct ?? 0), 1)} %, ` +
    `MariaDB ${c.mariadbCpuPct ?? "—"} %, NATS ${c.natsCpuPct ?? "—"} %, generators ${c.generatorsCpuPct} %, ` +
    `other processes ${c.othersCpuPct} % of a core`
  );
}

/** What bounds the size, from the run's own figures: what failed, or else the nearest ceiling. */
function limitedBy(f) {
  const l = f.limits;
  if (f.connected < f.devices) {
    const reasons = [];
    if (f.tryLater > 0) reasons.push(`${f.tryLater} try-later closes (admission)`);
    if (Object.keys(f.errors).length) reasons.push(`errors ${JSON.stringify(f.errors)}`);
    if (Object.keys(f.closeCodes).length) reasons.push(`close codes ${JSON.stringify(f.closeCodes)}`);
    if (f.workersRestarted > 0) reasons.push(`${f.workersRestarted} workers died and were restarted`);
    return `held ${f.connected} of ${f.devices}: ${reasons.join("; ") || "connect timed out"}`;
  }
  const headroom = [
    [
      "open files per worker",
      l.maxWorkerFds / l.openFilesPerProcess,
      `${l.maxWorkerFds} of ${l.openFilesPerProcess}`,
    ],
    [
      "sessions per worker",
      l.maxWorkerSessions / l.maxSessionsPerWorker,
      `${l.maxWorkerSessions} of ${l.maxSessionsPerWorker}`,
    ],
    [
      "machine memory",
      1 - l.machineMemAvailableMiB / l.machineMemTotalMiB,
      `${l.machineMemAvailableMiB} MiB of ${l.machineMemTotalMiB} MiB free` +
        (l.memoryProjectedDevices
          ? `, ~${l.memoryProjectedDevices.toLocaleString("en")} devices at ${l.machineBytesPerDevice} B each`
          : ""),
    ],
    ["CPU while connecting", f.connectCpu.machineBusyPct / 100, cpuText(f.connectCpu)],
    ["CPU while holding", f.holdCpu.machineBusyPct / 100, cpuText(f.holdCpu)],
  ].sort((a, b) => b[1] - a[1]);
  return `held all ${f.connected.toLocaleString("en")}; nearest ceilings: ${headroom
    .slice(0, 3)
    .map(([name, , text]) => `${name} (${text})`)
    .join(", ")}`;
}
