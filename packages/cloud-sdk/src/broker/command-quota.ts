import { CloudError, CloudErrorCode } from "../errors.js";
import type { CommandLoad, CommandRepository } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";

/** The per-device bound on commands not yet finished (QUEUED, SENT, DELIVERED). */
export interface CommandQuotaLimits {
  /** Non-terminal commands per device. Default 100. */
  maxActive?: number;
  /** Bytes of their params (JSON) per device. Default 1 MiB. */
  maxActiveBytes?: number;
}

/** A new command would take its device past its quota: 429 `queue_full`. */
export class QueueFullError extends CloudError {
  override readonly name = "QueueFullError";
  constructor(deviceId: string, limit: "commands" | "bytes", max: number) {
    const what =
      limit === "commands" ? `${max} unfinished commands` : `${max} bytes of unfinished commands' params`;
    super(CloudErrorCode.QUEUE_FULL, `the device already has ${what}`, 429, true, { deviceId, limit, max });
  }
}

/** How long a reading of a device's stored load may stand in for a new one, far below the quota. */
const READING_MS = 1_000;

/**
 * Admission of new commands against their device's quota. Commands being created on this
 * node count from before the stored load is read until they are stored, so concurrent calls
 * cannot all pass on the same reading. (Another node's commands count once stored: in a
 * cluster the bound may be passed by what nodes create at once.)
 *
 * The store is read for each command once a device is past half its quota. Below that, a
 * reading up to a second old (plus what this node created since) is used, so the hot RPC
 * path of a device with a few commands in flight does not pay a query per command.
 */
export class CommandQuota {
  readonly maxActive: number;
  readonly maxActiveBytes: number;
  /** Commands refused, for metrics. */
  refused = 0;
  private readonly pending = new Map<string, CommandLoad>();
  private readonly readings = new Map<string, CommandLoad & { at: number }>();

  constructor(
    private readonly commands: CommandRepository,
    limits: CommandQuotaLimits = {},
    private readonly clock: Clock = systemClock,
  ) {
    this.maxActive = limits.maxActive ?? 100;
    this.maxActiveBytes = limits.maxActiveBytes ?? 1_048_576;
  }

  /**
   * Reserves room for a command of `bytes` params; resolves with the release to call once
   * it is stored (or failed), or rejects with QueueFullError.
   */
  async reserve(deviceId: string, bytes: number): Promise<() => void> {
    const pending = this.pending.get(deviceId) ?? { count: 0, bytes: 0 };
    pending.count += 1;
    pending.bytes += bytes;
    this.pending.set(deviceId, pending);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      pending.count -= 1;
      pending.bytes -= bytes;
      if (pending.count === 0) this.pending.delete(deviceId);
      // Stored now (or failed, which only overcounts until the next reading).
      const reading = this.readings.get(deviceId);
      if (reading) {
        reading.count += 1;
        reading.bytes += bytes;
      }
    };
    try {
      const stored = await this.storedLoad(deviceId, pending);
      if (stored.count + pending.count > this.maxActive)
        throw new QueueFullError(deviceId, "commands", this.maxActive);
      if (stored.bytes + pending.bytes > this.maxActiveBytes)
        throw new QueueFullError(deviceId, "bytes", this.maxActiveBytes);
    } catch (error) {
      release();
      if (error instanceof QueueFullError) this.refused++;
      throw error;
    }
    return release;
  }

  /** The device's stored load: a recent reading while far below the quota, else the store's. */
  private async storedLoad(deviceId: string, pending: CommandLoad): Promise<CommandLoad> {
    const now = this.clock.now();
    const reading = this.readings.get(deviceId);
    if (
      reading &&
      now - reading.at < READING_MS &&
      (reading.count + pending.count) * 2 <= this.maxActive &&
      (reading.bytes + pending.bytes) * 2 <= this.maxActiveBytes
    )
      return reading;
    const stored = await this.commands.activeLoad(deviceId);
    if (this.readings.size >= 10_000) {
      for (const [id, r] of this.readings) if (now - r.at >= READING_MS) this.readings.delete(id);
    }
    this.readings.set(deviceId, { ...stored, at: now });
    return stored;
  }
}
