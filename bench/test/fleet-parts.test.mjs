// The fleet scenario's parts that need no server: the session limit and the /metrics parse.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FD_HEADROOM, maxSessionsPerProcess } from "../src/servers/reference-server.mjs";
import { fdsOf, openFilesLimit, rssOf } from "../src/util/procfs.mjs";
import { parseMetrics } from "../src/util/prometheus.mjs";

describe("fleet parts", () => {
  it("the session limit is the open-files limit less headroom, unless --max-sessions says", () => {
    // A child inherits our limit, so the shell's `ulimit -n` is the one the server gets.
    const ulimit = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
    expect(openFilesLimit()?.soft).toBe(ulimit);
    expect(maxSessionsPerProcess()).toBe(ulimit - FD_HEADROOM);
    expect(maxSessionsPerProcess(500)).toBe(500);
  });

  it("reads a live process's RSS and open files, and nothing for a gone one", () => {
    expect(rssOf(process.pid)).toBeGreaterThan(1024 * 1024);
    expect(fdsOf(process.pid)).toBeGreaterThan(2);
    expect(rssOf(2 ** 22 + 1)).toBeUndefined();
    expect(fdsOf(2 ** 22 + 1)).toBeUndefined();
  });

  it("parses Prometheus samples by name, labels kept in the key, comments skipped", () => {
    const text = [
      "# HELP cloudedge_connected_devices Devices with a session",
      "# TYPE cloudedge_connected_devices gauge",
      "cloudedge_connected_devices 17000",
      'cloudedge_sessions_closed_total{cause="heartbeat_timeout"} 3',
      "cloudedge_process_nodejs_eventloop_lag_p99_seconds 0.0125",
      "",
    ].join("\n");
    expect(parseMetrics(text)).toEqual({
      cloudedge_connected_devices: 17_000,
      'cloudedge_sessions_closed_total{cause="heartbeat_timeout"}': 3,
      cloudedge_process_nodejs_eventloop_lag_p99_seconds: 0.0125,
    });
  });
});
