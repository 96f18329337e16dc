import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * The id of the current boot: Linux's /proc/sys/kernel/random/boot_id (changes at every
 * boot, §4.1), else a random id per process.
 */
export function readBootId(path = "/proc/sys/kernel/random/boot_id"): string {
  try {
    const id = readFileSync(path, "utf8").trim();
    if (id.length > 0 && id.length <= 64) return id;
  } catch {
    // not Linux, or no procfs
  }
  return randomUUID();
}
