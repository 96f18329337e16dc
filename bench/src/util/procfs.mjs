// Readers of /proc (Linux): a process's memory, open files, limits and children, and the
// machine's memory — what the fleet scenario measures the server with.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** VmRSS of a process in bytes, or undefined when it is gone. */
export function rssOf(pid) {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Open file descriptors of a process, or undefined when it is gone. */
export function fdsOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The "Max open files" limits (`ulimit -n`) of a process (default: this one), or undefined. */
export function openFilesLimit(pid = "self") {
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

/** Total and available memory of the machine, bytes. */
export function meminfo() {
  const text = readFileSync("/proc/meminfo", "utf8");
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { total: kb("MemTotal"), available: kb("MemAvailable") };
}

/** Kernel memory of TCP sockets (pages → bytes) from /proc/net/sockstat. */
export function tcpMemBytes() {
  try {
    const pages = /TCP:.* mem (\d+)/.exec(readFileSync("/proc/net/sockstat", "utf8"))?.[1];
    return pages === undefined ? undefined : Number(pages) * 4096;
  } catch {
    return undefined;
  }
}

/** Pids of a process's children, ascending. */
export function childrenOf(pid) {
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
