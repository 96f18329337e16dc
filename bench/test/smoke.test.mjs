// The smoke variant CI runs so the harness never rots: every scenario, small (a few hundred
// devices, a couple of seconds a step), through the real entry point. It asserts only that
// figures were produced — never how fast (shared, noisy machines).
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const CLI = new URL("../src/cli.mjs", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "cloudedge-bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs the CLI with --json and returns the parsed last line of stdout. */
function bench(args) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args, "--json", "--out", out, "--no-charts"],
      { maxBuffer: 64 * 1024 * 1024, timeout: 85_000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}\n${stderr.slice(-4000)}`));
        const last = stdout.trim().split("\n").at(-1) ?? "";
        resolve(JSON.parse(last));
      },
    );
  });
}

const finite = (value) => typeof value === "number" && Number.isFinite(value);

describe("bench smoke", () => {
  it("capacity: bytes per connection for hub and bare ws", async () => {
    const { capacity } = await bench(["capacity", "--devices", "300"]);
    expect(capacity.hubConnections).toBe(300);
    for (const key of ["hubBytesPerConn", "wsBytesPerConn", "ratio", "hubConnectPerS", "wsConnectPerS"]) {
      expect(finite(capacity[key]), key).toBe(true);
    }
    expect(existsSync(join(out, "capacity.json"))).toBe(true);
  });

  it("heartbeat: rates for hub and bare ws", async () => {
    const { heartbeat } = await bench(["heartbeat", "--devices", "300", "--rate", "1000", "--duration", "2"]);
    expect(heartbeat.hub.steps).toHaveLength(1);
    expect(heartbeat.ws.steps).toHaveLength(1);
    for (const key of ["hubCpuPct", "hubLagP99Ms", "hubMaxRate", "wsMaxRate", "ratio"]) {
      expect(finite(heartbeat[key]), key).toBe(true);
    }
  });

  it("rpc: latency percentiles per rate", async () => {
    const { rpc } = await bench(["rpc", "--devices", "200", "--rate", "100,200", "--duration", "2"]);
    expect(rpc.steps.map((s) => s.rate)).toEqual([100, 200]);
    for (const step of rpc.steps) {
      expect(step.latencyMs.count).toBeGreaterThan(0);
      expect(finite(step.latencyMs.p99)).toBe(true);
    }
  });

  it("storm: back-online times with tokens and with bcrypt", async () => {
    const { storm } = await bench(["storm", "--devices", "200", "--bcrypt-devices", "20"]);
    expect(storm.tokens.back).toBeGreaterThan(0);
    expect(storm.bcrypt.back).toBeGreaterThan(0);
    expect(finite(storm.tokens.p50Ms)).toBe(true);
  });

  it("status: durable rows per second in MySQL and SQLite", async () => {
    const { status } = await bench(["status", "--devices", "200", "--rate", "500", "--duration", "2"]);
    for (const db of ["mysql", "sqlite"]) {
      expect(status[db].steps).toHaveLength(1);
      expect(status[db].steps[0].durablePerS).toBeGreaterThan(0);
    }
  });

  it("cluster: same-node and cross-node latency over NATS", async () => {
    const { cluster } = await bench([
      "cluster",
      ...["--devices", "100", "--rate", "100", "--duration", "2", "--rounds", "1"],
    ]);
    // Both stores, the judged one (SQLite) first; its figures are the headline.
    expect(cluster.stores.map((s) => s.db)).toEqual(["sqlite", "mysql"]);
    expect(cluster.judgedOn).toBe("sqlite");
    expect(cluster.addedP99Ms).toBe(cluster.stores[0].addedP99Ms);
    for (const store of cluster.stores) {
      expect(store.connected, store.db).toBe(100);
      for (const mode of ["same", "cross"]) {
        expect(store[mode].count, `${store.db} ${mode}`).toBeGreaterThan(0);
        for (const key of ["p50", "p99", "nodeACpuPct", "nodeBCpuPct"]) {
          expect(finite(store[mode][key]), `${store.db} ${mode}.${key}`).toBe(true);
        }
      }
      expect(finite(store.addedP99Ms)).toBe(true);
      expect(store.byRate.map((r) => r.rate)).toEqual([100]);
    }
    expect(cluster.steps.map((s) => `${s.db} ${s.mode}`)).toEqual(
      ["sqlite", "mysql"].flatMap((db) => [`${db} same`, `${db} cross`, `${db} nats`]),
    );
    // The bare-NATS floor ran and completed its round trips.
    for (const store of cluster.stores) expect(store.nats.count, store.db).toBeGreaterThan(0);
  });

  it("fleet: the reference server with --workers holds the fleet", async () => {
    // --workers 2 so the node:cluster path (primary + workers, NATS between them) is exercised.
    const { fleet } = await bench([
      "fleet",
      "--devices",
      "400",
      "--workers",
      "2",
      "--duration",
      "3",
      "--heartbeat-ms",
      "10000",
    ]);
    expect(fleet.workers).toBe(2);
    expect(fleet.perWorker).toHaveLength(2);
    expect(fleet.connected).toBeGreaterThan(0);
    for (const key of ["connectMs", "rssPerConnBytes", "workerRssMiB", "rttP50Ms", "rttP99Ms"]) {
      expect(finite(fleet[key]), key).toBe(true);
    }
    expect(fleet.commandsSent).toBeGreaterThan(0);
  });

  it("agent: CPU per report and RSS of the agent, its floor and the old collector", async () => {
    const { agent } = await bench(["agent", "--duration", "3"]);
    expect(agent.rows.map((r) => r.name)).toEqual([
      "floor-1s",
      "agent-1s",
      "floor-default",
      "agent-default",
      "bundle-default",
      "legacy-agent-1s",
    ]);
    for (const key of [
      "perReport1sMs",
      "floorPerReport1sMs",
      "legacyPerReport1sMs",
      "rssMiB",
      "floorRssMiB",
      "onlineMs",
      "bundleOnlineMs",
    ]) {
      expect(finite(agent[key]), key).toBe(true);
    }
  });

  it("results: README table and charts from the JSON files", async () => {
    const { renderCharts, chartSvgs } = await import("../src/report/charts.mjs");
    const { readResults } = await import("../src/report/results.mjs");
    expect(Object.keys(chartSvgs(readResults(out))).sort()).toEqual([
      "capacity",
      "heartbeat",
      "rpc",
      "status",
      "storm",
    ]);
    const readme = readFileSync(join(out, "README.md"), "utf8");
    expect(readme).toContain("| capacity |");
    const rendered = await renderCharts(out);
    expect(rendered.length).toBe(5);
    expect(existsSync(join(out, "rpc.svg"))).toBe(true);
  });
});
