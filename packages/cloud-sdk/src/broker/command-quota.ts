import { CloudError, CloudErrorCode } from "../errors.js";
import type { CommandLoad, CommandRepository } from "../repos/types.js";

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
 * Admission of new commands against their device's quota. The stored load is read per
 * command; commands being created on this node count from before that read until they are
 * stored, so concurrent calls cannot all pass on the same reading. (Another node's commands
 * count once stored: in a cluster the bound may be passed by what nodes create at once.)
 */
export class CommandQuota {
  readonly maxActive: number;
  readonly maxActiveBytes: number;
  /** Commands refused, for metrics. */
  refused = 0;
  private readonly pending = new Map<string, CommandLoad>();

  constructor(
    private readonly commands: CommandRepository,
    limits: CommandQuotaLimits = {},
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
    };
    try {
      const stored = await this.commands.activeLoad(deviceId);
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
}
