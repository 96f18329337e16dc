// The system collector as it was before issue 19 (systeminformation on every report), kept
// only so `npm run bench -- agent` can measure the old agent beside the new one.
import { loadavg } from "node:os";
import si from "systeminformation";

const clampPercent = (n) => (Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : undefined);
const nonNegative = (n) => (typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined);
const round = (n, digits = 2) => (n === undefined ? undefined : Math.round(n * 10 ** digits) / 10 ** digits);

export function legacySystemCollector() {
  return {
    name: "system",
    async collect() {
      const [load, mem, disks, time, net, temp, cpu] = await Promise.all([
        si.currentLoad().catch(() => undefined),
        si.mem().catch(() => undefined),
        si.fsSize().catch(() => undefined),
        Promise.resolve(si.time()),
        si.networkStats("*").catch(() => undefined),
        si.cpuTemperature().catch(() => undefined),
        si.cpu().catch(() => undefined),
      ]);
      const out = {};
      const cores = cpu?.cores && cpu.cores >= 1 ? Math.min(65535, cpu.cores) : undefined;
      out.cpu = {
        ...(load ? { usagePercent: round(clampPercent(load.currentLoad)) } : {}),
        ...(cores ? { cores } : {}),
        load: loadavg().map((n) => round(Math.max(0, n))),
      };
      if (mem)
        out.memory = {
          totalBytes: mem.total,
          usedBytes: Math.max(0, mem.total - mem.available),
          availableBytes: mem.available,
        };
      if (disks)
        out.disks = disks.slice(0, 256).map((d) => ({
          mount: d.mount.slice(0, 512),
          ...(nonNegative(d.size) !== undefined ? { totalBytes: d.size } : {}),
          ...(nonNegative(d.used) !== undefined ? { usedBytes: d.used } : {}),
          ...(nonNegative(d.use) !== undefined ? { usePercent: round(clampPercent(d.use)) } : {}),
          ...(d.fs ? { fs: d.fs.slice(0, 512) } : {}),
        }));
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
      if (typeof temp?.main === "number" && temp.main > -100) out.temperatureC = temp.main;
      return out;
    },
  };
}
