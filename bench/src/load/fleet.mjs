// Parent side of the load generator: N devices split over several generator processes
// (each well under the 20,000-files-per-process ceiling), driven together.
import { build as buildHistogram, decodeFromCompressedBase64 } from "hdr-histogram-js";
import { spawnReady } from "../ipc.mjs";

const GENERATOR = new URL("./generator.mjs", import.meta.url);
/** Sockets per generator process: below the 20,000 open-files ceiling with room to spare. */
export const MAX_PER_PROCESS = 18_000;

export class Fleet {
  /**
   * @param {{ devices: number, url: string, mode: "hub" | "echo", processes?: number, credentials?: "token" | "secret" }} options
   */
  constructor(options) {
    const processes = Math.max(options.processes ?? 2, Math.ceil(options.devices / MAX_PER_PROCESS));
    const per = Math.ceil(options.devices / processes);
    this.devices = options.devices;
    this.configs = [];
    for (let first = 0; first < options.devices; first += per) {
      const count = Math.min(per, options.devices - first);
      this.configs.push({
        firstIndex: first,
        count,
        url: options.url,
        mode: options.mode,
        credentials: options.credentials,
      });
    }
    this.generators = [];
  }

  /** Starts the generator processes. */
  async ready() {
    const started = await Promise.all(
      this.configs.map((config) => spawnReady(GENERATOR, config, ["--max-old-space-size=4096"])),
    );
    this.generators = started.map((s) => s.child);
    return this;
  }

  all(op, args) {
    return Promise.all(this.generators.map((g) => g.call(op, args)));
  }

  /** Connects every device not yet online; resolves when all are welcomed (or gave up). */
  async connect(args = {}) {
    const results = await this.all("connect", args);
    return {
      connected: results.reduce((n, r) => n + r.connected, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      ms: Math.max(...results.map((r) => r.ms)),
    };
  }

  /** Aggregate rates (per second) split evenly over the generators. */
  rates({ ping, status }) {
    const n = this.generators.length;
    return this.all("rates", {
      ...(ping !== undefined ? { ping: ping / n } : {}),
      ...(status !== undefined ? { status: status / n } : {}),
    });
  }

  /** Summed counters of all generators (cpu in µs). */
  async stats() {
    const all = await this.all("stats");
    const sum = { cpuUs: 0, rss: 0, closeCodes: {}, errors: {} };
    for (const s of all) {
      for (const [key, value] of Object.entries(s)) {
        if (typeof value === "number") sum[key] = (sum[key] ?? 0) + value;
      }
      sum.cpuUs += s.cpu.user + s.cpu.system;
      for (const [code, n] of Object.entries(s.closeCodes))
        sum.closeCodes[code] = (sum.closeCodes[code] ?? 0) + n;
      for (const [code, n] of Object.entries(s.errors)) sum.errors[code] = (sum.errors[code] ?? 0) + n;
    }
    return sum;
  }

  async welcomeTimes() {
    return (await this.all("welcomeTimes")).flat();
  }

  /** Starts timing every device's ping → pong round trip (hub mode). */
  async rttStart() {
    await this.all("rttStart");
  }

  /** Ends the window: all generators' round trips merged into one HDR histogram (µs). */
  async rttStop() {
    const merged = buildHistogram({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 600_000_000,
      numberOfSignificantValueDigits: 3,
    });
    for (const encoded of await this.all("rttStop")) {
      if (encoded) merged.add(decodeFromCompressedBase64(encoded));
    }
    return merged;
  }

  async close() {
    await Promise.allSettled(this.generators.map((g) => g.call("closeAll")));
    await Promise.all(this.generators.map((g) => g.kill()));
  }
}
