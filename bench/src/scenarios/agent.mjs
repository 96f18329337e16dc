// agent: what the reference agent costs on the device (issue 19), beside the floor — a bare
// Node script with one WebSocket that pings and reads /proc/stat, /proc/meminfo and
// statfs("/") every interval (agent/floor.mjs). In one window, side by side: the agent and a
// floor at a 1 s status interval, and the agent and a floor at the defaults (15 s status,
// the hub's 30 s heartbeat), and the single-file bundle at the defaults. Then the agent with its old collector (systeminformation per
// report, agent/legacy-agent.mjs) at 1 s for a shorter window. CPU is the process's and its
// children's (reaped and live) from /proc/<pid>/stat; RSS is VmRSS at the end of the window.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deviceId, FLEET_SECRET } from "../fleet-ids.mjs";
import { profiling, startHub, stopServer } from "../servers.mjs";
import { childrenOf, rssOf } from "../util/procfs.mjs";
import { MiB, progress, round, sleep, until } from "../util.mjs";

const ROOT = new URL("../../../", import.meta.url).pathname;
const AGENT = join(ROOT, "examples/agent/dist/main.js");
const BUNDLE = join(ROOT, "examples/agent/dist/bundle/cloudedge-agent.mjs");
const LEGACY = new URL("../agent/legacy-agent.mjs", import.meta.url).pathname;
const FLOOR = new URL("../agent/floor.mjs", import.meta.url).pathname;
const CLOCK_TICKS = 100;
const DEFAULT_STATUS_MS = 15_000;
const HUB_HEARTBEAT_MS = 30_000;
const LEGACY_WINDOW_S = 20;

/** utime + stime + cutime + cstime (ms) of a process, plus those of its live children. */
function treeCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const own = ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLOCK_TICKS;
    return own + childrenOf(pid).reduce((a, child) => a + (treeCpuMs(child) ?? 0), 0);
  } catch {
    return undefined;
  }
}

/** Spawns one measured process; resolves once it printed its "online" line. */
async function launch(name, argv, cleanup) {
  const begun = performance.now();
  const child = spawn(process.execPath, [...profiling.execArgv, ...argv], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanup.push(() => child.kill("SIGKILL"));
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    err = (err + chunk).slice(-4000);
  });
  let onlineMs;
  const ok = await until(
    () => {
      if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${err}`);
      if (/online/.test(out)) onlineMs ??= performance.now() - begun;
      return onlineMs !== undefined;
    },
    { timeoutMs: 30_000, everyMs: 20 },
  );
  if (!ok) throw new Error(`${name} did not come online within 30 s: ${err}`);
  return { name, child, pid: child.pid, onlineMs: round(onlineMs, 0) };
}

const agentArgv = (script, url, i, statusMs, dir) => [
  script,
  "--server",
  url,
  "--device-id",
  deviceId(i),
  "--secret",
  FLEET_SECRET,
  "--status-interval-ms",
  String(statusMs),
  "--data-dir",
  join(dir, `agent-${i}`),
];

/** CPU and RSS of each process over one window of `windowS` seconds. */
async function measure(procs, windowS) {
  const start = procs.map((p) => treeCpuMs(p.pid));
  const begun = performance.now();
  await sleep(windowS * 1000);
  const elapsedMs = performance.now() - begun;
  return procs.map((p, i) => {
    const cpuMs = (treeCpuMs(p.pid) ?? Number.NaN) - (start[i] ?? Number.NaN);
    const reports = elapsedMs / p.intervalMs;
    return {
      name: p.name,
      intervalMs: p.intervalMs,
      windowS: round(elapsedMs / 1000, 1),
      cpuMs: round(cpuMs, 0),
      cpuPct: round((cpuMs / elapsedMs) * 100, 3),
      cpuMsPerReport: round(cpuMs / reports, 2),
      rssMiB: round((rssOf(p.pid) ?? Number.NaN) / MiB, 1),
      onlineMs: p.onlineMs,
    };
  });
}

/** @param {{durationS: number}} options */
export async function agent(options) {
  const windowS = options.durationS;
  const dir = mkdtempSync(join(tmpdir(), "bench-agent-"));
  const cleanup = [];
  progress(
    `agent: ${windowS} s window (1 s and default intervals, floor beside), then the old collector for ${LEGACY_WINDOW_S} s`,
  );
  const server = await startHub({ devices: 5, heartbeatMs: HUB_HEARTBEAT_MS });
  try {
    const { url } = server;
    const procs = [];
    const add = async (name, argv, intervalMs) =>
      procs.push({ ...(await launch(name, argv, cleanup)), intervalMs });
    await add("floor-1s", [FLOOR, url, deviceId(0), FLEET_SECRET, "1000"], 1_000);
    await add("agent-1s", agentArgv(AGENT, url, 1, 1_000, dir), 1_000);
    await add(
      "floor-default",
      [FLOOR, url, deviceId(2), FLEET_SECRET, String(DEFAULT_STATUS_MS)],
      DEFAULT_STATUS_MS,
    );
    await add("agent-default", agentArgv(AGENT, url, 3, DEFAULT_STATUS_MS, dir), DEFAULT_STATUS_MS);
    await add("bundle-default", agentArgv(BUNDLE, url, 4, DEFAULT_STATUS_MS, dir), DEFAULT_STATUS_MS);
    await sleep(3_000); // start-up work (first report, log file, JIT) stays out of the window
    const rows = await measure(procs, windowS);
    for (const p of procs) p.child.kill("SIGTERM");
    await sleep(1_000);
    const legacy = await launch("legacy-agent-1s", agentArgv(LEGACY, url, 1, 1_000, dir), cleanup);
    await sleep(3_000);
    rows.push(...(await measure([{ ...legacy, intervalMs: 1_000 }], Math.min(windowS, LEGACY_WINDOW_S))));
    legacy.child.kill("SIGTERM");
    for (const r of rows)
      progress(
        `agent: ${r.name}: ${r.cpuMsPerReport} ms CPU/report, ${r.cpuPct} % of a core, RSS ${r.rssMiB} MiB, online in ${r.onlineMs} ms`,
      );
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    const ratio = (a, b) => (b > 0 ? round(a / b, 2) : undefined);
    return {
      windowS,
      perReport1sMs: by["agent-1s"].cpuMsPerReport,
      floorPerReport1sMs: by["floor-1s"].cpuMsPerReport,
      perReportRatio: ratio(by["agent-1s"].cpuMsPerReport, by["floor-1s"].cpuMsPerReport),
      legacyPerReport1sMs: by["legacy-agent-1s"].cpuMsPerReport,
      defaultCpuPct: by["agent-default"].cpuPct,
      floorDefaultCpuPct: by["floor-default"].cpuPct,
      rssMiB: by["agent-default"].rssMiB,
      floorRssMiB: by["floor-default"].rssMiB,
      rssRatio: ratio(by["agent-default"].rssMiB, by["floor-default"].rssMiB),
      onlineMs: by["agent-1s"].onlineMs,
      bundleOnlineMs: by["bundle-default"].onlineMs,
      bundleRssMiB: by["bundle-default"].rssMiB,
      bundleCpuPct: by["bundle-default"].cpuPct,
      rows,
    };
  } finally {
    for (const stop of cleanup) stop();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}
