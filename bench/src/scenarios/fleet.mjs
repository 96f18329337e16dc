// fleet: how many devices this one machine holds with the reference server's --workers (issue #7:
// target ≥ 100,000). The real server (examples/server/dist) runs with enough workers that each
// holds at most 9/10 of its session limit (its open-files limit less headroom, or --max-sessions)
// over a fresh MySQL database and NATS; the fleet is registered straight into MySQL and resumes
// with tokens signed by the server's key. Measured while the whole fleet heartbeats: RSS per
// worker and per connection (over an empty-server baseline), device-side ping → pong round trip,
// the workers' event-loop lag (from /metrics), CPU of the machine, MariaDB and NATS — then ~20
// commands through the REST API prove the cluster routes to every worker at that size.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { commandCheck } from "../load/command-check.mjs";
import { Fleet, MAX_PER_PROCESS } from "../load/fleet.mjs";
import { registerFleet } from "../load/fleet-registration.mjs";
import { limitedBy } from "../report/fleet-limits.mjs";
import {
  freePort,
  logSummary,
  maxSessionsPerProcess,
  startServer,
  stopServer,
} from "../servers/reference-server.mjs";
import { childrenOf, fdsOf, meminfo, openFilesLimit, rssOf, tcpMemBytes } from "../util/procfs.mjs";
import { scrape } from "../util/prometheus.mjs";
import {
  cpuWindow,
  dropMysql,
  dropNatsPrefix,
  MiB,
  mariadbPid,
  median,
  natsPid,
  progress,
  round,
  scratchNatsPrefix,
  sleep,
} from "../util.mjs";

/** Devices per worker by default: a tenth of its session limit spare, as round robin deals unevenly. */
export const perWorker = (maxSessions) => Math.max(1, Math.floor(maxSessions * 0.9));
/** The measured window is at least this long, whatever --duration says. */
const MIN_HOLD_S = 20;
const COMMANDS = 20;

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
 * @param {{devices: number, durationS: number, heartbeatMs: number, workers?: number, maxSessions?: number}} options
 */
export async function fleet(options) {
  const { devices, heartbeatMs } = options;
  const maxSessions = maxSessionsPerProcess(options.maxSessions);
  const workers = options.workers ?? Math.max(1, Math.ceil(devices / perWorker(maxSessions)));
  // At least one heartbeat interval, so every device pings (and is timed) in the window.
  const holdS = Math.max(options.durationS, MIN_HOLD_S, Math.ceil(heartbeatMs / 1000));
  const database = `cloudedge_bench_fleet_${process.pid}_${Date.now()}`;
  const natsPrefix = scratchNatsPrefix("fleet");
  const dataDir = mkdtempSync(join(tmpdir(), "cloudedge-bench-fleet-"));
  const logFile = join(dataDir, "server.log");
  const adminToken = `ce_bench_${randomBytes(24).toString("hex")}`;
  const generators = Math.max(2, Math.ceil(devices / MAX_PER_PROCESS));
  progress(
    `fleet: ${devices} devices, ${workers} server workers (${maxSessions} sessions each at most), ` +
      `${generators} generator processes`,
  );

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
      maxSessions,
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
      maxSessionsPerWorker: maxSessions,
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
