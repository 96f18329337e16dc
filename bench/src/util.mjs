// Small helpers shared by the scenarios.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A progress line on stderr (stdout stays for the table or the JSON line). */
export function progress(message) {
  const clock = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${clock}] ${message}\n`);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The q-quantile (0..1) of an ascending array: the smallest value with at least q of them at or below it. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const round = (value, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export const MiB = 1024 * 1024;

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes. */
export async function until(check, { timeoutMs, everyMs = 250, onTick } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() >= deadline) return undefined;
    onTick?.();
    await sleep(everyMs);
  }
}

/** CPU time (ms) of a process from /proc, or undefined when unreadable. */
function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100;

function machineTicks() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: values.reduce((a, b) => a + b, 0) - idle, total: values.reduce((a, b) => a + b, 0) };
}

/** The pid of a program running on this machine (`pidof`), if any. */
function pidOf(program) {
  try {
    return Number(execFileSync("pidof", [program], { encoding: "utf8" }).trim().split(" ")[0]) || undefined;
  } catch {
    return undefined;
  }
}

/** The MariaDB server's pid on this machine, if any. */
export const mariadbPid = () => pidOf("mariadbd");

/** The NATS server's pid on this machine, if any. */
export const natsPid = () => pidOf("nats-server");

/** The NATS server (with JetStream) of the cluster scenarios. */
export const NATS = process.env.CLOUDEDGE_BENCH_NATS ?? "nats://127.0.0.1:4222";

/** A NATS subject/bucket prefix of this run's own: other clusters on the same NATS stay apart. */
export const scratchNatsPrefix = (scenario) => `cebench_${scenario}_${process.pid}_${Date.now()}`;

/** Deletes the KV buckets (JetStream streams) the run's bus created under `prefix`. */
export async function dropNatsPrefix(prefix) {
  let nc;
  try {
    // The NATS client the cloud SDK depends on (the bench does not declare its own).
    const { connect } = createRequire(import.meta.resolve("@cloudedge/cloud-sdk"))("nats");
    nc = await connect({ servers: NATS, maxReconnectAttempts: 0 });
    const jsm = await nc.jetstreamManager();
    for (const bucket of ["presence", "nodes"]) await jsm.streams.delete(`KV_${prefix}_${bucket}`);
  } catch (error) {
    progress(`could not delete the NATS buckets of ${prefix}: ${error}`);
  } finally {
    await nc?.close();
  }
}

/** The MySQL/MariaDB server scenarios create their scratch databases in. */
export const MYSQL = process.env.CLOUDEDGE_BENCH_MYSQL ?? "mysql://root@127.0.0.1:3306";

/** Runs SQL with the MariaDB/MySQL client against MYSQL (in `database`, if given); throws on failure. */
export function mysqlClient(sql, database) {
  const url = new URL(MYSQL);
  execFileSync(
    "mysql",
    [
      `-u${decodeURIComponent(url.username || "root")}`,
      ...(url.password ? [`-p${decodeURIComponent(url.password)}`] : []),
      `-h${url.hostname}`,
      `-P${url.port || "3306"}`,
      ...(database ? [database] : []),
      "-e",
      sql,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
}

/** Drops a run's database (the store has no "drop database"); never throws. */
export function dropMysql(name) {
  try {
    mysqlClient(`DROP DATABASE IF EXISTS \`${name}\``);
  } catch (error) {
    progress(`could not drop ${name}: ${error}`);
  }
}

/**
 * A store of the run's own: a MySQL database (the store creates it on open) or a SQLite file
 * in a fresh temporary directory. `url` is what `openStore` takes; `drop()` removes it all.
 * @param {"mysql" | "sqlite"} kind
 */
export function scratchStore(kind) {
  if (kind === "mysql") {
    const name = `cloudedge_bench_${process.pid}_${Date.now()}`;
    return { url: `${MYSQL}/${name}`, drop: () => dropMysql(name) };
  }
  const dir = mkdtempSync(join(tmpdir(), "cloudedge-bench-"));
  return {
    url: `sqlite:${join(dir, "bench.db")}`,
    drop: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Whole-machine CPU (% of all cores) and, given pids, each process's CPU (% of one core)
 * over a window: tells a saturated machine from a saturated process.
 */
export function cpuWindow(pids = {}) {
  const start = {
    at: performance.now(),
    machine: machineTicks(),
    procs: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuMs(pid)])),
  };
  return () => {
    const elapsedMs = performance.now() - start.at;
    const machine = machineTicks();
    const result = {
      machineBusyPct: round(
        ((machine.busy - start.machine.busy) / Math.max(1, machine.total - start.machine.total)) * 100,
        1,
      ),
    };
    for (const [name, pid] of Object.entries(pids)) {
      const before = start.procs[name];
      const after = processCpuMs(pid);
      if (before !== undefined && after !== undefined)
        result[`${name}CpuPct`] = round(((after - before) / elapsedMs) * 100, 1);
    }
    return result;
  };
}
