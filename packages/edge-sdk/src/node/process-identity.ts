import { readFileSync } from "node:fs";

/** Who a process is: its pid, when it started (to tell a reused pid apart) and in which boot. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); null where there is no procfs. */
  start: string | null;
  bootId: string | null;
}

/** Field 22 (starttime) of /proc/<pid>/stat and the process state (field 3), or undefined. */
function readStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const [state, start] = [fields[0], fields[19]];
    return state && start ? { state, start } : undefined;
  } catch {
    return undefined;
  }
}

function readBoot(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null;
  }
}

/** The identity of process `pid` as seen now. */
export function processIdentity(pid: number): ProcessIdentity {
  return { pid, start: readStat(pid)?.start ?? null, bootId: readBoot() };
}

/**
 * Whether the process `identity` describes still runs: same boot, the pid exists and is not
 * a zombie, and it started when recorded (a pid reused by another process does not count).
 */
export function isRunning(identity: ProcessIdentity): boolean {
  if (identity.bootId !== null && identity.bootId !== readBoot()) return false;
  try {
    process.kill(identity.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = readStat(identity.pid);
  if (!stat) return identity.start === null; // no procfs: the pid exists, that is all we know
  return stat.state !== "Z" && stat.state !== "X" && stat.start === identity.start;
}
