import type { StatusPdu } from "@cloudedge/protocol";
import type { ClusterBus } from "../cluster/cluster-bus.js";
import { CloudErrorCode, NotFoundError } from "../errors.js";
import type { DeviceHub } from "../hub/device-hub.js";
import type { StatusHistoryQuery, StatusRecord, Store } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { type CloseOutcome, type Spill, WriteBehind } from "../util/write-behind.js";

export interface StatusRetention {
  /** Drop history older than this. Default 30 days. */
  maxAgeMs?: number;
  /** Keep at most this many rows per device (newest). Default 100,000. */
  maxRowsPerDevice?: number;
  /** How often retention runs. Default 10 min. */
  everyMs?: number;
}

export interface StatusIngestOptions {
  store: Store;
  hub: DeviceHub;
  bus: ClusterBus;
  clock?: Clock;
  logger?: Logger;
  /** Write-behind batching. Defaults: every 1 s or 500 reports. */
  flushMs?: number;
  batchSize?: number;
  retention?: StatusRetention;
  /** Where reports the store refused are journaled. */
  spill?: Spill<StatusRecord>;
}

/**
 * Status reports (docs/protocol.md, status): the latest per device in memory, history
 * written behind in batches — a heartbeat or status report never waits on the database.
 * Reports flushed from a device's outbox keep their original timestamps.
 */
export class StatusIngest {
  private readonly clock: Clock;
  private readonly latestByDevice = new Map<string, StatusRecord>();
  readonly writer: WriteBehind<StatusRecord>;
  private readonly retentionTimer: unknown;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: StatusIngestOptions) {
    this.clock = options.clock ?? systemClock;
    this.writer = new WriteBehind<StatusRecord>({
      name: "status",
      write: (batch) => options.store.status.insertBatch(batch),
      intervalMs: options.flushMs ?? 1000,
      batchSize: options.batchSize ?? 500,
      clock: this.clock,
      logger: options.logger ?? silentLogger,
      ...(options.spill ? { spill: options.spill } : {}),
    });
    options.hub.on("pdu", (session, pdu) => {
      if (pdu.type === "status") this.ingest(session.deviceId, pdu);
    });
    // In a cluster a device moves between nodes: a report received elsewhere refreshes the
    // latest this node remembers, so it never serves an older one from memory. A device
    // deleted through any node is forgotten on every node.
    this.unsubscribe = options.bus.subscribe((event) => {
      if (event.type === "device_deleted") this.forget(event.deviceId);
      if (event.type !== "status") return;
      const latest = this.latestByDevice.get(event.deviceId);
      if (latest && latest.ts < event.status.ts) this.latestByDevice.set(event.deviceId, event.status);
    });
    this.retentionTimer = this.clock.setInterval(
      () => void this.prune().catch(() => {}),
      options.retention?.everyMs ?? 600_000,
    );
  }

  /** Records one report (also usable directly by services that receive status elsewhere). */
  ingest(deviceId: string, pdu: StatusPdu): StatusRecord {
    const record: StatusRecord = { deviceId, ts: pdu.ts, receivedAt: this.clock.now(), data: pdu.data };
    const latest = this.latestByDevice.get(deviceId);
    if (!latest || latest.ts <= record.ts) this.latestByDevice.set(deviceId, record);
    this.writer.push(record);
    void this.options.bus
      .publish({ type: "status", deviceId, at: record.receivedAt, status: record })
      .catch(() => {});
    return record;
  }

  /** The latest report: from memory when this node saw one, else from the store. */
  async latest(deviceId: string): Promise<StatusRecord | undefined> {
    return this.latestByDevice.get(deviceId) ?? (await this.options.store.status.latest(deviceId));
  }

  /**
   * The latest report of a device that must exist: NotFoundError `device_not_found` for an
   * unknown device, `no_status` for one that has not reported yet.
   */
  async current(deviceId: string): Promise<StatusRecord> {
    await this.requireDevice(deviceId);
    const status = await this.latest(deviceId);
    if (!status)
      throw new NotFoundError(CloudErrorCode.NO_STATUS, "the device has not reported a status yet");
    return status;
  }

  /** History in a time range; pending writes are flushed first so nothing received is missing. */
  async history(deviceId: string, query: StatusHistoryQuery = {}): Promise<StatusRecord[]> {
    await this.requireDevice(deviceId);
    await this.writer.flush();
    return this.options.store.status.history(deviceId, query);
  }

  /** Applies the retention policy now; returns rows deleted. */
  prune(): Promise<number> {
    const retention = this.options.retention ?? {};
    return this.options.store.status.prune({
      now: this.clock.now(),
      maxAgeMs: retention.maxAgeMs ?? 30 * 86_400_000,
      maxRowsPerDevice: retention.maxRowsPerDevice ?? 100_000,
    });
  }

  private async requireDevice(deviceId: string): Promise<void> {
    if (!(await this.options.store.devices.get(deviceId)))
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
  }

  /** Forgets a deleted device's latest report (DeviceService.delete has every node do it). */
  forget(deviceId: string): void {
    this.latestByDevice.delete(deviceId);
  }

  /** Stops; buffered reports get `graceMs` to reach the store (see WriteBehind.close). */
  async close(graceMs?: number): Promise<CloseOutcome> {
    this.clock.clearInterval(this.retentionTimer);
    this.unsubscribe();
    return this.writer.close(graceMs);
  }
}
