import { statfs } from "node:fs/promises";
import { cpus, freemem, loadavg, networkInterfaces, totalmem, uptime } from "node:os";
import type { Collector, CollectorOutput } from "../collector.js";
import {
  type CpuTimes,
  cpuPercent,
  type MountEntry,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parseProcStat,
  readSmallFile,
} from "./proc-readers.js";
import { readCpuTemperature, readSystemFacts, type SystemFacts } from "./system-facts.js";

/** Options of systemCollector. */
export interface SystemCollectorOptions {
  /** Mount points to skip (e.g. pseudo file systems). Default: none beyond the `df`-like filter. */
  excludeMounts?: (mount: string) => boolean;
  /** Include per-interface network rates (read on the slow interval). Default true. */
  network?: boolean;
  /** Include the CPU temperature when the host has a sensor (read on the slow interval). Default true. */
  temperature?: boolean;
  /**
   * How often network counters, the temperature and the mount list are re-read; reports in
   * between carry the last values (network rates are averaged over this window). Default 60 s.
   */
  slowIntervalMs?: number;
  /** Include `agent` {collectMs, collectCpuMs, rssBytes, cpuPercent}: what the agent costs. Default true. */
  agentMetrics?: boolean;
  /** The static facts (cores) to use; default read once when the collector is made. */
  facts?: SystemFacts;
  /** Monotonic milliseconds (tests). Default performance.now. */
  now?: () => number;
}

const round = (n: number | undefined, digits = 2) =>
  n === undefined ? undefined : Math.round(n * 10 ** digits) / 10 ** digits;

// Off Linux (a developer's laptop) the same figures come from node:os.
function cpuTimes(): CpuTimes | undefined {
  const fromProc = parseProcStat(readSmallFile("/proc/stat", 4096));
  if (fromProc || process.platform === "linux") return fromProc;
  let idle = 0;
  let total = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

function memory(): { total: number; available: number } {
  return parseMeminfo(readSmallFile("/proc/meminfo", 4096)) ?? { total: totalmem(), available: freemem() };
}

/**
 * The mounts to report, re-read on the slow interval: deduplicated, filtered, and only those
 * with blocks (proc, sysfs, cgroup… have none: df hides them), so a report statfs's real disks only.
 */
async function diskMounts(exclude: ((mount: string) => boolean) | undefined): Promise<MountEntry[]> {
  const list = parseMounts(readSmallFile("/proc/mounts"));
  const seen = new Set<string>();
  const wanted = (list.length > 0 ? list : [{ fs: "", mount: "/", type: "" }])
    .filter((m) => !seen.has(m.mount) && seen.add(m.mount) && !exclude?.(m.mount))
    .slice(0, 256);
  const sized = await Promise.all(
    wanted.map((m) =>
      statfs(m.mount).then(
        (s) => s.blocks > 0,
        () => false,
      ),
    ),
  );
  return wanted.filter((_, i) => sized[i]);
}

type Disk = NonNullable<CollectorOutput["disks"]>[number] & { usePercent?: number; fs?: string };

/** size/used/use% as `df` computes them (use% of the space a user can have). */
async function disk(entry: MountEntry): Promise<Disk | undefined> {
  const s = await statfs(entry.mount).catch(() => undefined);
  if (!s || !(s.blocks > 0)) return undefined;
  const used = (s.blocks - s.bfree) * s.bsize;
  const available = s.bavail * s.bsize;
  return {
    mount: entry.mount.slice(0, 512),
    totalBytes: s.blocks * s.bsize,
    usedBytes: used,
    ...(used + available > 0 ? { usePercent: round((used / (used + available)) * 100) } : {}),
    ...(entry.fs ? { fs: entry.fs.slice(0, 512) } : {}),
  };
}

type Network = {
  rxBytesPerSec: number;
  txBytesPerSec: number;
  interfaces: { name: string; rxBytesPerSec: number; txBytesPerSec: number }[];
};

/** Network rates between two reads of /proc/net/dev, for the interfaces that have an address. */
function networkRates(
  prev: Map<string, { rx: number; tx: number }>,
  now: Map<string, { rx: number; tx: number }>,
  seconds: number,
): Network {
  const named = Object.keys(networkInterfaces());
  const rate = (a: number, b: number) => (seconds > 0 && b >= a ? (round((b - a) / seconds) as number) : 0);
  const interfaces = named.slice(0, 64).map((name) => {
    const before = prev.get(name);
    const after = now.get(name);
    return {
      name: name.slice(0, 64),
      rxBytesPerSec: before && after ? rate(before.rx, after.rx) : 0,
      txBytesPerSec: before && after ? rate(before.tx, after.tx) : 0,
    };
  });
  return {
    rxBytesPerSec: round(interfaces.reduce((a, i) => a + i.rxBytesPerSec, 0)) as number,
    txBytesPerSec: round(interfaces.reduce((a, i) => a + i.txBytesPerSec, 0)) as number,
    interfaces,
  };
}

/**
 * Host metrics from the cheapest source (docs/operations.md "Agent footprint"): CPU usage
 * from /proc/stat deltas, memory from /proc/meminfo, each local disk by statfs, uptime and
 * load average from the kernel; network rates and the CPU temperature on a slower
 * interval; and what the collection itself cost (`agent`). No process is spawned and no
 * static fact is re-read per report — about 0.1 ms of CPU where the systeminformation
 * version took 60–300 ms (bench/results NOTES.md, "agent"). A part that fails is left out.
 */
export function systemCollector(options: SystemCollectorOptions = {}): Collector {
  const now = options.now ?? (() => performance.now());
  const slowMs = Math.max(0, options.slowIntervalMs ?? 60_000);
  const cores = (options.facts ?? readSystemFacts()).cpu.cores;
  // The first report's usage is the average since boot (as systeminformation's was); a report
  // less than a clock tick after the previous one repeats its figure.
  let cpuPrev: CpuTimes | undefined = { idle: 0, total: 0 };
  let usageLast: number | undefined;
  let mountList: MountEntry[] | undefined;
  let slowAt = now();
  let netPrev = options.network === false ? undefined : parseNetDev(readSmallFile("/proc/net/dev"));
  let network: Network | undefined;
  let temperature = options.temperature === false ? undefined : readCpuTemperature();
  let usagePrev = process.cpuUsage();
  let usageAt = now();

  const slow = (t: number) => {
    const seconds = (t - slowAt) / 1000;
    slowAt = t;
    mountList = undefined;
    if (netPrev) {
      const counters = parseNetDev(readSmallFile("/proc/net/dev"));
      network = networkRates(netPrev, counters, seconds);
      netPrev = counters;
    }
    if (options.temperature !== false) temperature = readCpuTemperature();
  };

  return {
    name: "system",
    async collect(): Promise<CollectorOutput> {
      const started = now();
      const cpuStart = process.cpuUsage();
      if (started - slowAt >= slowMs || (netPrev && !network)) slow(started);
      const out: CollectorOutput = {};
      const times = cpuTimes();
      const fresh = times && cpuPrev ? cpuPercent(cpuPrev, times) : undefined;
      if (fresh !== undefined) {
        cpuPrev = times;
        usageLast = fresh;
      }
      const usage = usageLast;
      out.cpu = {
        ...(usage !== undefined ? { usagePercent: round(usage) } : {}),
        cores,
        load: loadavg().map((n) => round(Math.max(0, n)) as number),
      };
      const mem = memory();
      // availableBytes is an extra key (§5: unknown fields are kept).
      out.memory = {
        totalBytes: mem.total,
        usedBytes: Math.max(0, mem.total - mem.available),
        availableBytes: mem.available,
      } as CollectorOutput["memory"];
      mountList ??= await diskMounts(options.excludeMounts);
      const disks = (await Promise.all(mountList.map(disk))).filter((d) => d !== undefined);
      if (disks.length > 0) out.disks = disks;
      out.uptimeS = Math.max(0, uptime());
      if (network) out["network"] = network;
      if (temperature !== undefined) out["temperatureC"] = temperature;
      if (options.agentMetrics !== false) out["agent"] = agentMetrics(started, cpuStart);
      return out;
    },
  };

  function agentMetrics(started: number, cpuStart: NodeJS.CpuUsage) {
    const t = now();
    const spent = process.cpuUsage(cpuStart);
    const total = process.cpuUsage();
    const busyUs = total.user + total.system - usagePrev.user - usagePrev.system;
    const wallMs = t - usageAt;
    usagePrev = total;
    usageAt = t;
    return {
      collectMs: round(t - started, 3),
      collectCpuMs: round((spent.user + spent.system) / 1000, 3),
      rssBytes: process.memoryUsage.rss(),
      ...(wallMs > 0 ? { cpuPercent: round(busyUs / 10 / wallMs, 3) } : {}),
    };
  }
}
