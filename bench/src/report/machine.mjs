// Machine facts recorded beside every result: figures from another machine are not comparable.
import { cpus, release, totalmem } from "node:os";

export function machineFacts() {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    os: `${process.platform} ${release()}`,
    openFilesPerProcess: 20_000,
  };
}
