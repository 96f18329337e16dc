import { existsSync, readdirSync } from "node:fs";
import { arch, cpus, hostname, networkInterfaces, type as osType, platform, release } from "node:os";
import type { HelloPdu } from "@cloudedge/protocol";
import { readSmallFile } from "./proc-readers.js";

type Nic = NonNullable<NonNullable<HelloPdu["hardware"]>["nics"]>[number];

/** What does not change while the agent runs: read once at start and again on `system.info`. */
export interface SystemFacts {
  cpu: { model?: string; cores: number; arch: string };
  os: { type: string; platform: string; release: string; distro?: string; hostname: string };
  /** Serial number and model where the firmware exposes them (DMI, device tree). */
  serialNumber?: string;
  model?: string;
  nics: Nic[];
}

const firstLine = (path: string) => {
  // Device-tree strings end with NUL; DMI ones with a newline.
  const text = readSmallFile(path, 256)?.replace(/\0/g, "").trim();
  return text ? text.slice(0, 128) : undefined;
};
const firstOf = (paths: string[]) =>
  paths.map(firstLine).find((v) => v !== undefined && !/^(none|to be filled|default string)/i.test(v));

/** The device's network interfaces with a MAC (loopback and all-zero MACs left out), at most 32. */
export function readNics(): Nic[] {
  const nics: Nic[] = [];
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    const first = addresses?.find((a) => !a.internal && a.mac && a.mac !== "00:00:00:00:00:00");
    if (!first) continue;
    const ipv4 = addresses?.find((a) => a.family === "IPv4" && !a.internal)?.address;
    const wireless = existsSync(`/sys/class/net/${name}/wireless`) || /^wl/.test(name);
    nics.push({
      type: wireless ? "wifi" : "ethernet",
      name: name.slice(0, 64),
      mac: first.mac,
      ...(ipv4 ? { ipv4 } : {}),
    });
  }
  return nics.slice(0, 32);
}

function distro(): string | undefined {
  const text = readSmallFile("/etc/os-release", 4096);
  const match = text && /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return match?.[1] ? match[1].slice(0, 128) : undefined;
}

/** Reads the static facts (a few small files; os.cpus() reads /proc/cpuinfo once). */
export function readSystemFacts(): SystemFacts {
  const cpuList = cpus();
  const serialNumber = firstOf([
    "/sys/firmware/devicetree/base/serial-number",
    "/proc/device-tree/serial-number",
    "/sys/class/dmi/id/product_serial",
  ]);
  const model = firstOf([
    "/sys/firmware/devicetree/base/model",
    "/proc/device-tree/model",
    "/sys/class/dmi/id/product_name",
  ]);
  const cpuModel = cpuList[0]?.model?.trim();
  const osDistro = platform() === "linux" ? distro() : undefined;
  return {
    cpu: {
      ...(cpuModel ? { model: cpuModel.slice(0, 128) } : {}),
      cores: Math.max(1, Math.min(65535, cpuList.length || 1)),
      arch: arch(),
    },
    os: {
      type: osType(),
      platform: platform(),
      release: release(),
      ...(osDistro ? { distro: osDistro } : {}),
      hostname: hostname(),
    },
    ...(serialNumber ? { serialNumber } : {}),
    ...(model ? { model } : {}),
    nics: readNics(),
  };
}

/** The `hello.hardware` block of the facts: the NICs (the hub ignores serial/model there, §4.1). */
export function helloHardware(facts: SystemFacts): NonNullable<HelloPdu["hardware"]> {
  return { nics: facts.nics };
}

/** CPU temperature in °C: a thermal zone of the CPU (else the first), else a hwmon sensor. */
export function readCpuTemperature(): number | undefined {
  const zones = safeList("/sys/class/thermal").filter((z) => z.startsWith("thermal_zone"));
  const typed = zones.map((z) => ({ z, type: firstLine(`/sys/class/thermal/${z}/type`) ?? "" }));
  const preferred = typed.find((t) => /cpu|x86_pkg|soc|core|package/i.test(t.type)) ?? typed[0];
  const milli = (path: string) => {
    const n = Number(firstLine(path));
    return Number.isFinite(n) && n > -100_000 ? Math.round(n / 100) / 10 : undefined;
  };
  if (preferred) return milli(`/sys/class/thermal/${preferred.z}/temp`);
  for (const hw of safeList("/sys/class/hwmon")) {
    const name = firstLine(`/sys/class/hwmon/${hw}/name`) ?? "";
    if (/coretemp|k10temp|cpu|soc/i.test(name)) return milli(`/sys/class/hwmon/${hw}/temp1_input`);
  }
  return undefined;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
