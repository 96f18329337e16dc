import { isPdu } from "@cloudedge/protocol";
import { describe, expect, it } from "vitest";
import { collectStatus } from "../src/collector.js";
import {
  cpuPercent,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parseProcStat,
} from "../src/node/proc-readers.js";
import { systemCollector } from "../src/node/system-collector.js";
import { readSystemFacts } from "../src/node/system-facts.js";

const signal = new AbortController().signal;

describe("procfs parsers", () => {
  it.each([
    ["cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n", { idle: 850, total: 1000 }],
    ["cpu  1 2 3 4\n", { idle: 4, total: 10 }],
    ["intr 1 2 3\n", undefined],
    ["cpu  x y z w\n", undefined],
    [undefined, undefined],
  ])("/proc/stat %j", (text, expected) => {
    expect(parseProcStat(text)).toEqual(expected);
  });

  it("CPU usage is the busy share of the ticks between two samples", () => {
    expect(cpuPercent({ idle: 850, total: 1000 }, { idle: 900, total: 1100 })).toBe(50);
    expect(cpuPercent({ idle: 10, total: 10 }, { idle: 10, total: 10 })).toBeUndefined();
  });

  it.each([
    [
      "MemTotal:  1000 kB\nMemFree:  100 kB\nMemAvailable:  600 kB\n",
      { total: 1_024_000, available: 614_400 },
    ],
    [
      "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 150 kB\n",
      { total: 1_024_000, available: 307_200 },
    ],
    ["MemFree: 100 kB\n", undefined],
  ])("/proc/meminfo %#", (text, expected) => {
    expect(parseMeminfo(text)).toEqual(expected);
  });

  it("/proc/mounts: local real file systems, as df -lx squashfs lists them", () => {
    const text = [
      "/dev/vda / ext4 rw 0 0",
      "proc /proc proc rw 0 0",
      "tmpfs /run tmpfs rw 0 0",
      "/dev/loop0 /snap/core squashfs ro 0 0",
      "srv:/export /mnt/nfs nfs4 rw 0 0",
      "overlay /var/lib/docker/x overlay rw 0 0",
      "/dev/sdb1 /media/my\\040disk vfat rw 0 0",
      "",
    ].join("\n");
    expect(parseMounts(text).map((m) => m.mount)).toEqual([
      "/",
      "/proc", // no blocks: the collector's statfs drops it
      "/var/lib/docker/x",
      "/media/my disk",
    ]);
  });

  it("/proc/net/dev: bytes in and out per interface", () => {
    const text =
      "Inter-|   Receive\n face |bytes packets\n    lo: 430 28 0 0 0 0 0 0 431 28 0 0 0 0 0 0\n  eth0: 3219 88 0 0 0 0 0 0 6914 63 0 0 0 0 0 0\n";
    expect([...parseNetDev(text)]).toEqual([
      ["lo", { rx: 430, tx: 431 }],
      ["eth0", { rx: 3219, tx: 6914 }],
    ]);
  });
});

describe("systemCollector (this host)", () => {
  it("reports the fields the server and console show, plus what the agent costs", async () => {
    const data = await collectStatus([systemCollector()], { timeoutMs: 20_000 });
    expect(data.errors).toBeUndefined();
    expect(data.cpu).toMatchObject({ cores: readSystemFacts().cpu.cores, load: expect.any(Array) });
    expect(data.cpu?.usagePercent).toBeGreaterThanOrEqual(0);
    expect(data.disks?.find((d) => d.mount === "/")).toMatchObject({
      totalBytes: expect.any(Number),
      usedBytes: expect.any(Number),
      usePercent: expect.any(Number),
      fs: expect.any(String),
    });
    expect(data["agent"]).toMatchObject({
      collectMs: expect.any(Number),
      collectCpuMs: expect.any(Number),
      rssBytes: expect.any(Number),
      cpuPercent: expect.any(Number),
    });
    expect(isPdu("status", { type: "status", ts: Date.now(), data })).toBe(true);
  });

  it("re-reads network counters only on the slow interval; in between a report carries the last rates", async () => {
    let t = 0;
    const collector = systemCollector({ slowIntervalMs: 60_000, now: () => t });
    t = 1_000;
    const first = (await collector.collect(signal))["network"];
    t = 30_000;
    const second = (await collector.collect(signal))["network"];
    expect(second).toBe(first); // the very same object: not re-read
    t = 62_000;
    const third = (await collector.collect(signal))["network"];
    expect(third).not.toBe(first);
    expect(third).toMatchObject({ rxBytesPerSec: expect.any(Number), interfaces: expect.any(Array) });
  });

  it("leaves out what is turned off", async () => {
    const data = await systemCollector({ network: false, temperature: false, agentMetrics: false }).collect(
      signal,
    );
    expect(data["network"]).toBeUndefined();
    expect(data["temperatureC"]).toBeUndefined();
    expect(data["agent"]).toBeUndefined();
    expect(data.memory?.totalBytes).toBeGreaterThan(0);
  });
});

describe("readSystemFacts", () => {
  it("reads CPU, OS and the NICs with a MAC", () => {
    const facts = readSystemFacts();
    expect(facts.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(facts.os.platform).toBe(process.platform);
    for (const nic of facts.nics) expect(nic.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i);
    expect(
      isPdu("hello", {
        type: "hello",
        versions: [1],
        deviceId: "1",
        secret: "s",
        agent: { name: "a", version: "1" },
        bootId: "b",
        desiredVersion: 0,
        hardware: { nics: facts.nics },
      }),
    ).toBe(true);
  });
});
