// /metrics of the reference server: the Prometheus text format parsed, and scrapes
// attributed to the worker that answered.
import { round } from "../util.mjs";
import { get } from "./http.mjs";
import { fdsOf, rssOf } from "./procfs.mjs";

/** The samples of a Prometheus text exposition, by name (labels kept in the key). */
export function parseMetrics(text) {
  const values = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values[line.slice(0, space)] = Number(line.slice(space + 1));
  }
  return values;
}

/**
 * Scrapes /metrics `n` times on fresh connections. Each scrape lands on one worker (the
 * primary deals connections round robin) and prom-client resets that worker's event-loop
 * histogram on each scrape, so the lag figures cover the time since that worker's previous
 * scrape. /metrics carries no pid: a scrape is attributed to the worker whose open files,
 * counted right after, are nearest to the process_open_fds it reported (one per device, so
 * distinct and steady while the fleet is held), VmRSS breaking ties.
 */
export async function scrape(port, workerPids, n) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const res = await get(port, "/metrics").catch(() => undefined);
    if (res?.status !== 200) continue;
    const m = parseMetrics(res.text);
    const fds = m.cloudedge_process_process_open_fds ?? 0;
    const rss = m.cloudedge_process_process_resident_memory_bytes ?? 0;
    let pid;
    let best = Number.POSITIVE_INFINITY;
    for (const candidate of workerPids) {
      const distance =
        Math.abs((fdsOf(candidate) ?? 0) - fds) * 2 ** 40 + Math.abs((rssOf(candidate) ?? 0) - rss);
      if (distance < best) {
        best = distance;
        pid = candidate;
      }
    }
    samples.push({
      pid,
      sessions: m.cloudedge_connected_devices,
      lagP50Ms: round((m.cloudedge_process_nodejs_eventloop_lag_p50_seconds ?? Number.NaN) * 1000, 1),
      lagP99Ms: round((m.cloudedge_process_nodejs_eventloop_lag_p99_seconds ?? Number.NaN) * 1000, 1),
      lagMaxMs: round((m.cloudedge_process_nodejs_eventloop_lag_max_seconds ?? Number.NaN) * 1000, 1),
      tryLater: m.cloudedge_connections_refused_total,
      heartbeatTimeouts: m['cloudedge_sessions_closed_total{cause="heartbeat_timeout"}'],
      backpressureCloses: m['cloudedge_sessions_closed_total{cause="backpressure"}'],
      pendingHandshakes: m.cloudedge_pending_handshakes,
    });
  }
  return samples;
}
