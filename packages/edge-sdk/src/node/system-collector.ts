import { loadavg } from "node:os";
import si from "systeminformation";
import type { Collector, CollectorOutput } from "../collector.js";

/** Options of systemCollector. */
export interface SystemCollectorOptions {
  /** Mount points to skip (e.g. pseudo file systems). Default: none beyond systeminformation's own filter. */
  excludeMounts?: (mount: string) => boolean;
  /** Include per-interface network rates. Default true. */
  network?: boolean;
  /** Include CPU temperature when the host has a sensor. Default true. */
  temperature?: boolean;
}

const clampPercent = (n: number) => (Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : undefined);
const nonNegative = (n: unknown) => (typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined);
const round = (n: number | undefined, digits = 2) =>
  n === undefined ? undefined : Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Host metrics through systeminformation: CPU load %, cores and load average, memory
 * total/used/available, every mounted disk (size/used/use%), uptime, network rx/tx rates
 * (bytes/s since the previous report), and CPU temperature when the host has a sensor.
 * Each part that fails is left out; a wholly failing collect becomes `errors.system`.
 */
export function systemCollector(options: SystemCollectorOptions = {}): Collector {
  return {
    name: "system",
    async collect(): Promise<CollectorOutput> {
      const [load, mem, disks, time, net, temp, cpu] = await Promise.all([
        si.currentLoad().catch(() => undefined),
        si.mem().catch(() => undefined),
        si.fsSize().catch(() => undefined),
        Promise.resolve(si.time()),
        options.network === false ? undefined : si.networkStats("*").catch(() => undefined),
        options.temperature === false ? undefined : si.cpuTemperature().catch(() => undefined),
        si.cpu().catch(() => undefined),
      ]);
      const out: CollectorOutput = {};
      const cores = cpu?.cores && cpu.cores >= 1 ? Math.min(65535, cpu.cores) : undefined;
      out.cpu = {
        ...(load ? { usagePercent: round(clampPercent(load.currentLoad)) } : {}),
        ...(cores ? { cores } : {}),
        load: loadavg().map((n) => round(Math.max(0, n)) as number),
      };
      if (mem) {
        const used = Math.max(0, mem.total - mem.available);
        // availableBytes is an extra key (§5: unknown fields are kept).
        out.memory = {
          totalBytes: mem.total,
          usedBytes: used,
          availableBytes: mem.available,
        } as CollectorOutput["memory"];
      }
      if (disks) {
        const seen = new Set<string>();
        out.disks = disks
          .filter(
            (d) => d.mount && !seen.has(d.mount) && seen.add(d.mount) && !options.excludeMounts?.(d.mount),
          )
          .slice(0, 256)
          .map((d) => ({
            mount: d.mount.slice(0, 512),
            ...(nonNegative(d.size) !== undefined ? { totalBytes: d.size } : {}),
            ...(nonNegative(d.used) !== undefined ? { usedBytes: d.used } : {}),
            ...(nonNegative(d.use) !== undefined ? { usePercent: round(clampPercent(d.use)) } : {}),
            ...(d.fs ? { fs: d.fs.slice(0, 512) } : {}),
          }));
      }
      const uptime = nonNegative(time?.uptime);
      if (uptime !== undefined) out.uptimeS = uptime;
      if (net && net.length > 0) {
        const interfaces = net.slice(0, 64).map((n) => ({
          name: n.iface.slice(0, 64),
          rxBytesPerSec: round(nonNegative(n.rx_sec) ?? 0),
          txBytesPerSec: round(nonNegative(n.tx_sec) ?? 0),
        }));
        out.network = {
          rxBytesPerSec: round(interfaces.reduce((a, i) => a + (i.rxBytesPerSec ?? 0), 0)),
          txBytesPerSec: round(interfaces.reduce((a, i) => a + (i.txBytesPerSec ?? 0), 0)),
          interfaces,
        };
      }
      const celsius = temp?.main;
      if (typeof celsius === "number" && Number.isFinite(celsius) && celsius > -100)
        out.temperatureC = celsius;
      return out;
    },
  };
}
