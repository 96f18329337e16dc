import type { Cloud } from "@cloudedge/cloud-sdk";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { EventStreams } from "./routes/events.js";

/**
 * Prometheus metrics read from the SDK's own counters at scrape time (nothing on the hot
 * path), plus process and event-loop metrics from prom-client's defaults.
 */
export function createMetrics(cloud: Cloud, streams?: EventStreams): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "cloudedge_process_" });
  const stats = cloud.hub.stats;

  new Gauge({
    name: "cloudedge_connected_devices",
    help: "Devices with a live session on this node.",
    registers: [registry],
    collect() {
      this.set(cloud.hub.sessionCount);
    },
  });
  new Gauge({
    name: "cloudedge_pending_handshakes",
    help: "Connections between upgrade and welcome.",
    registers: [registry],
    collect() {
      this.set(stats.pendingHandshakes);
    },
  });
  new Counter({
    name: "cloudedge_handshakes_total",
    help: "Completed handshakes by credential used.",
    labelNames: ["via"],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ via: "token" }, stats.handshakes.viaToken);
      this.inc({ via: "secret" }, stats.handshakes.viaSecret);
    },
  });
  new Counter({
    name: "cloudedge_auth_failures_total",
    help: "Failed handshakes by reason.",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(stats.handshakes.failed)) this.inc({ reason }, count);
    },
  });
  new Counter({
    name: "cloudedge_connections_refused_total",
    help: "Connections refused by admission control (try later).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.tryLater);
    },
  });
  new Counter({
    name: "cloudedge_sessions_closed_total",
    help: "Sessions closed by the hub, by cause.",
    labelNames: ["cause"],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ cause: "heartbeat_timeout" }, stats.heartbeatTimeouts);
      this.inc({ cause: "backpressure" }, stats.backpressureCloses);
      this.inc({ cause: "protocol_error" }, stats.protocolErrors);
    },
  });
  const commands = new Counter({
    name: "cloudedge_command_transitions_total",
    help: "Command status changes seen, by new status.",
    labelNames: ["status"],
    registers: [registry],
  });
  cloud.events.on("event", (event) => {
    if (event.type === "command") commands.inc({ status: event.command.status });
  });
  const writer = cloud.status.writer;
  new Counter({
    name: "cloudedge_status_reports_written_total",
    help: "Status reports written to the store.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(writer.written);
    },
  });
  new Counter({
    name: "cloudedge_status_batches_total",
    help: "Status write-behind batches.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(writer.batches);
    },
  });
  new Gauge({
    name: "cloudedge_status_pending",
    help: "Status reports waiting to be written.",
    registers: [registry],
    collect() {
      this.set(writer.size);
    },
  });
  new Counter({
    name: "cloudedge_status_dropped_total",
    help: "Status reports dropped because the store stayed down past the bound.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(writer.dropped);
    },
  });
  quotaMetrics(registry, cloud, streams);
  return registry;
}

/** What the quotas refused (docs/operations.md, Limits and quotas). */
function quotaMetrics(registry: Registry, cloud: Cloud, streams?: EventStreams): void {
  const status = cloud.status.quota.stats;
  const counter = (
    name: string,
    help: string,
    labels: string[],
    read: () => Array<[Record<string, string>, number]>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        for (const [label, value] of read()) this.inc(label, value);
      },
    });
  counter(
    "cloudedge_status_refused_total",
    "Status reports refused by a per-device quota.",
    ["reason"],
    () => [
      [{ reason: "rate" }, status.rateLimited],
      [{ reason: "size" }, status.tooLarge],
    ],
  );
  counter(
    "cloudedge_status_ts_clamped_total",
    "Status reports whose ts was too far ahead and clamped.",
    [],
    () => [[{}, status.clampedTs]],
  );
  counter(
    "cloudedge_commands_refused_total",
    "Commands refused by the per-device queue quota.",
    ["reason"],
    () => [[{ reason: "queue_full" }, cloud.broker.quota.refused]],
  );
  if (!streams) return;
  new Gauge({
    name: "cloudedge_sse_streams",
    help: "Open event streams on this node.",
    registers: [registry],
    collect() {
      this.set(streams.size);
    },
  });
  counter("cloudedge_sse_refused_total", "Event streams refused by the per-token cap.", [], () => [
    [{}, streams.stats.refused],
  ]);
  counter(
    "cloudedge_sse_slow_closed_total",
    "Event streams closed because the client read too slowly.",
    [],
    () => [[{}, streams.stats.slowClosed]],
  );
}
