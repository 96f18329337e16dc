// What bounds the fleet, in words, from a run's own figures.
import { round } from "../util.mjs";

/** A CPU window in words: the machine, and who used it (% of one core each). */
function cpuText(c) {
  return (
    `machine ${c.machineBusyPct} % busy: server ${round(c.workersCpuPct + (c.primaryCpuPct ?? 0), 1)} %, ` +
    `MariaDB ${c.mariadbCpuPct ?? "—"} %, NATS ${c.natsCpuPct ?? "—"} %, generators ${c.generatorsCpuPct} %, ` +
    `other processes ${c.othersCpuPct} % of a core`
  );
}

/** What bounds the size, from the run's own figures: what failed, or else the nearest ceiling. */
export function limitedBy(f) {
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
