import { ErrorCode, type StatusPdu } from "@cloudedge/protocol";
import type { ClusterBus } from "../cluster/cluster-bus.js";
import { CloudErrorCode, NotFoundError } from "../errors.js";
import type { DeviceHub } from "../hub/device-hub.js";
import type { Session } from "../hub/session.js";
import { toJson } from "../repos/json.js";
import type { StatusHistoryQuery, StatusRecord, Store } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { type CloseOutcome, type Spill, WriteBehind } from "../util/write-behind.js";
import { StatusQuota, type StatusQuotaOptions } from "./status-quota.js";

export interface StatusRetention {
  /** Drop history older than this. Default 30 days. */
  maxAgeMs?: number;
  /** Keep at most this many rows per device (newest). Default 100,000. */
  maxRowsPerDevice?: number;
  /**
   * Keep at most this many bytes of history per device (newest; data as JSON). Default 64 MiB.
   * Enforced by pruning the oldest: besides each retention run, a device is pruned as soon as
   * a quarter of this arrived from it since its last prune.
   */
  maxBytesPerDevice?: number;
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
  /** Per-device bounds on reports from devices: rate, size, clock skew. */
  quota?: StatusQuotaOptions;
}

/**
 * Status reports (docs/protocol.md, status): the latest per device in memory, history
 * written behind in batches — a heartbeat or status report never waits on the database.
 * Reports flushed from a device's outbox keep their original timestamps.
 */
export class StatusIngest {
  private readonly clock: Clock;
  private readonly latestByDevice = new Map<string, StatusRecord>();
  /** Rate, size and skew bounds; `quota.stats` counts what they refused or clamped. */
  readonly quota: StatusQuota;
  /** History bytes received per device since its last prune. */
  private readonly unpruned = new Map<string, number>();
  private readonly maxBytesPerDevice: number;
  readonly writer: WriteBehind<StatusRecord>;
  private readonly retentionTimer: unknown;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: StatusIngestOptions) {
    this.clock = options.clock ?? systemClock;
    this.quota = new StatusQuota(options.quota);
    this.maxBytesPerDevice = options.retention?.maxBytesPerDevice ?? 64 * 1_048_576;
    this.writer = new WriteBehind<StatusRecord>({
      name: "status",
      write: (batch) => options.store.status.insertBatch(batch),
      intervalMs: options.flushMs ?? 1000,
      batchSize: options.batchSize ?? 500,
      clock: this.clock,
      logger: options.logger ?? silentLogger,
      ...(options.spill ? { spill: options.spill } : {}),
    });
    options.hub.on("pdu", (session, pdu, frameBytes) => {
      if (pdu.type === "status") this.receive(session, pdu, frameBytes);
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
    this.retentionTimer = this.clock.setInterval(() => {
      this.quota.sweep(this.clock.now());
      void this.prune().catch(() => {});
    }, options.retention?.everyMs ?? 600_000);
  }

  /**
   * A report from a device's session: refused with an error PDU `quota_exceeded` (and
   * dropped) when over the device's rate or the size bound, else ingested.
   */
  private receive(session: Session, pdu: StatusPdu, frameBytes: number): void {
    // The frame bounds the data from above: only a frame past the limit has its data
    // serialized again to be measured exactly (the hot path measures nothing twice).
    const bytes = frameBytes <= this.quota.maxReportBytes ? frameBytes : Buffer.byteLength(toJson(pdu.data));
    const refusal = this.quota.admit(session.deviceId, bytes, this.clock.now());
    if (!refusal) {
      this.ingest(session.deviceId, pdu, bytes);
      return;
    }
    const { message, retryAfterMs } = refusal;
    session.send({
      type: "error",
      code: ErrorCode.QUOTA_EXCEEDED,
      message,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }

  /**
   * Records one report (also usable directly by services that receive status elsewhere). A
   * `ts` too far in the future is clamped (it would otherwise stay "latest" for good).
   */
  ingest(deviceId: string, pdu: StatusPdu, bytes = Buffer.byteLength(toJson(pdu.data))): StatusRecord {
    const receivedAt = this.clock.now();
    const ts = this.quota.clampTs(pdu.ts, receivedAt);
    const record: StatusRecord = { deviceId, ts, receivedAt, data: pdu.data };
    this.countBytes(deviceId, bytes);
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

  /** Applies the retention policy now (to one device, or all); returns rows deleted. */
  async prune(deviceId?: string): Promise<number> {
    const retention = this.options.retention ?? {};
    if (deviceId === undefined) this.unpruned.clear();
    else this.unpruned.delete(deviceId);
    return this.options.store.status.prune({
      now: this.clock.now(),
      maxAgeMs: retention.maxAgeMs ?? 30 * 86_400_000,
      maxRowsPerDevice: retention.maxRowsPerDevice ?? 100_000,
      maxBytesPerDevice: this.maxBytesPerDevice,
      ...(deviceId !== undefined ? { deviceId } : {}),
    });
  }

  /** Once a quarter of the byte bound arrived from a device, its history is pruned to the bound. */
  private countBytes(deviceId: string, bytes: number): void {
    const total = (this.unpruned.get(deviceId) ?? 0) + bytes;
    if (total < this.maxBytesPerDevice / 4) {
      this.unpruned.set(deviceId, total);
      return;
    }
    this.unpruned.delete(deviceId);
    void this.writer
      .flush()
      .then(() => this.prune(deviceId))
      .catch((error: unknown) =>
        (this.options.logger ?? silentLogger).warn({ deviceId, err: String(error) }, "status prune failed"),
      );
  }

  private async requireDevice(deviceId: string): Promise<void> {
    if (!(await this.options.store.devices.get(deviceId)))
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
  }

  /** Forgets a deleted device's latest report (DeviceService.delete has every node do it). */
  forget(deviceId: string): void {
    this.latestByDevice.delete(deviceId);
    this.unpruned.delete(deviceId);
  }

  /** Stops; buffered reports get `graceMs` to reach the store (see WriteBehind.close). */
  async close(graceMs?: number): Promise<CloseOutcome> {
    this.clock.clearInterval(this.retentionTimer);
    this.unsubscribe();
    return this.writer.close(graceMs);
  }
}
