import { closeSync, openSync, readSync } from "node:fs";

// One buffer for every procfs read: a report reads a few small files, so nothing is allocated
// but the decoded text. procfs reads never block on a disk, so they are synchronous (no
// thread-pool round trip).
const buffer = Buffer.allocUnsafe(16 * 1024);

/** The first `maxBytes` (≤ 16 KiB) of a procfs/sysfs file as latin1 text; undefined when unreadable. */
export function readSmallFile(path: string, maxBytes = buffer.length): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const n = readSync(fd, buffer, 0, Math.min(maxBytes, buffer.length), 0);
    return buffer.toString("latin1", 0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** CPU time counters of the `cpu` line of /proc/stat (clock ticks): busy and total. */
export interface CpuTimes {
  idle: number;
  total: number;
}

/** Parses the aggregate `cpu` line of /proc/stat; idle counts iowait too (as `top` does). */
export function parseProcStat(text: string | undefined): CpuTimes | undefined {
  if (!text?.startsWith("cpu ")) return undefined;
  const end = text.indexOf("\n");
  const fields = text
    .slice(4, end < 0 ? undefined : end)
    .trim()
    .split(/\s+/, 8)
    .map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const total = fields.reduce((a, n) => a + n, 0);
  return { idle: (fields[3] as number) + (fields[4] ?? 0), total };
}

/** CPU usage % between two samples (undefined when no tick passed). */
export function cpuPercent(prev: CpuTimes, now: CpuTimes): number | undefined {
  const total = now.total - prev.total;
  if (!(total > 0)) return undefined;
  return Math.min(100, Math.max(0, (1 - (now.idle - prev.idle) / total) * 100));
}

/** MemTotal and MemAvailable of /proc/meminfo, in bytes. */
export function parseMeminfo(text: string | undefined): { total: number; available: number } | undefined {
  if (!text) return undefined;
  const kb = (key: string) => {
    const at = text.indexOf(`${key}:`);
    if (at < 0) return undefined;
    const n = Number.parseInt(text.slice(at + key.length + 1, text.indexOf("\n", at)), 10);
    return Number.isFinite(n) ? n * 1024 : undefined;
  };
  const total = kb("MemTotal");
  // Kernels before 3.14 have no MemAvailable: free + buffers + cached approximates it.
  const available = kb("MemAvailable") ?? sum(kb("MemFree"), kb("Buffers"), kb("Cached"));
  return total !== undefined && available !== undefined ? { total, available } : undefined;
}

const sum = (...ns: (number | undefined)[]) =>
  ns.every((n) => n !== undefined) ? (ns as number[]).reduce((a, n) => a + n, 0) : undefined;

/** A mounted file system of /proc/mounts. */
export interface MountEntry {
  fs: string;
  mount: string;
  type: string;
}

// The file systems `df` (and so systeminformation's fsSize) leaves out or treats as memory-backed.
const PSEUDO = /rootfs|unionfs|squashfs|cramfs|initrd|initramfs|devtmpfs|tmpfs|udev|devfs|specfs|appimaged/;
// Remote file systems: `df -l` skips them, and a statfs of a dead server would hang.
const REMOTE = /^(nfs|nfs4|cifs|smb3|smbfs|ncpfs|afs|ceph|glusterfs|9p|fuse\.sshfs|sshfs|davfs|fuse\.s3fs)$/;
const unoctal = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/**
 * The mounts worth reporting, as systeminformation's fsSize chose them (`df -lkPTx
 * squashfs`): local, not squashfs, and a real device or a non-memory file system; the
 * caller drops those with no blocks (proc, sysfs, cgroup…), as df does.
 */
export function parseMounts(text: string | undefined): MountEntry[] {
  if (!text) return [];
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const [rawFs, rawMount, type] = line.split(" ");
    if (!rawFs || !rawMount || !type || type === "squashfs" || REMOTE.test(type)) continue;
    const fs = unoctal(rawFs);
    const mount = unoctal(rawMount);
    if (fs.startsWith("/") || mount === "/" || fs.indexOf("/") > 0 || !PSEUDO.test(type.toLowerCase()))
      out.push({ fs, mount, type });
  }
  return out;
}

/** Per-interface byte counters of /proc/net/dev. */
export function parseNetDev(text: string | undefined): Map<string, { rx: number; tx: number }> {
  const out = new Map<string, { rx: number; tx: number }>();
  for (const line of text?.split("\n").slice(2) ?? []) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const rx = Number(fields[0]);
    const tx = Number(fields[8]);
    if (Number.isFinite(rx) && Number.isFinite(tx)) out.set(line.slice(0, colon).trim(), { rx, tx });
  }
  return out;
}
