import { isTerminalStatus } from "@cloudedge/protocol";
import { CloudError, CloudErrorCode } from "../errors.js";
import type { CommandLoad, CommandRecord, CommandRepository } from "../repos/types.js";
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

/**
 * How long a reading of a device's stored load may stand in for a new one, far below the
 * quota. Commands this node creates are added to it and removed once they end, so it stays
 * exact for them; only commands of other nodes that end meanwhile leave it high (stricter),
 * until the next reading.
 */
const READING_MS = 60_000;

/** Readings kept at most (one per device that got a command in the last minute). */
const MAX_READINGS = 100_000;

/** A device's load as last read from the store, kept current for this node's commands. */
interface Reading extends CommandLoad {
  at: number;
  /** This node's commands counted since the reading, by id: their params bytes. */
  mine: Map<string, number>;
}

/**
 * Admission of new commands against their device's quota. Commands being created on this
 * node count from before the stored load is read until they are stored, so concurrent calls
 * cannot all pass on the same reading. (Another node's commands count once stored: in a
 * cluster the bound may be passed by what nodes create at once.)
 *
 * The store is read for each command once a device is past half its quota. Below that, a
 * reading up to a minute old — plus this node's commands created since, less those that
 * ended — is used, so the hot RPC path costs no query per command.
 */
export class CommandQuota {
  readonly maxActive: number;
  readonly maxActiveBytes: number;
  /** Commands refused, for metrics. */
  refused = 0;
  private readonly pending = new Map<string, CommandLoad>();
  private readonly readings = new Map<string, Reading>();
  /** Commands (→ device) that ended while their device had reservations open: a result can beat the release. */
  private readonly endedEarly = new Map<string, string>();

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
   * it is stored (with the command as stored) or failed (without), or rejects with
   * QueueFullError.
   */
  async reserve(deviceId: string, bytes: number): Promise<(stored?: CommandRecord) => void> {
    const pending = this.pending.get(deviceId) ?? { count: 0, bytes: 0 };
    pending.count += 1;
    pending.bytes += bytes;
    this.pending.set(deviceId, pending);
    let released = false;
    const release = (stored?: CommandRecord) => {
      if (released) return;
      released = true;
      pending.count -= 1;
      pending.bytes -= bytes;
      if (pending.count === 0) this.pending.delete(deviceId);
      const ended =
        stored !== undefined && (isTerminalStatus(stored.status) || this.endedEarly.has(stored.id));
      if (stored) this.endedEarly.delete(stored.id);
      if (!this.pending.has(deviceId)) this.forgetEndedEarly(deviceId);
      const reading = this.readings.get(deviceId);
      if (reading && stored && !ended && !reading.mine.has(stored.id)) {
        reading.mine.set(stored.id, bytes);
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

  /** A command ended (on any node; called once or more): it no longer counts. */
  ended(command: CommandRecord): void {
    const reading = this.readings.get(command.deviceId);
    const bytes = reading?.mine.get(command.id);
    if (reading && bytes !== undefined) {
      reading.mine.delete(command.id);
      reading.count -= 1;
      reading.bytes -= bytes;
    } else if (this.pending.has(command.deviceId)) this.endedEarly.set(command.id, command.deviceId);
  }

  private forgetEndedEarly(deviceId: string): void {
    if (this.endedEarly.size === 0) return;
    // Rare (a result faster than the creator's continuation): the map is tiny, scan it.
    for (const [id, device] of this.endedEarly) if (device === deviceId) this.endedEarly.delete(id);
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
    this.readings.delete(deviceId); // re-inserted last: the map stays in reading order
    this.readings.set(deviceId, { ...stored, at: now, mine: new Map() });
    this.trim(now);
    return stored;
  }

  /**
   * Forgets readings past their minute, oldest first (the map is in reading order, so this
   * stops at the first current one), and the oldest beyond MAX_READINGS: O(what it drops).
   */
  private trim(now: number): void {
    for (const [id, reading] of this.readings) {
      if (now - reading.at < READING_MS && this.readings.size <= MAX_READINGS) break;
      this.readings.delete(id);
    }
  }
}
