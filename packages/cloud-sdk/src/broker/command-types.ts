import type { CommandStatus } from "@cloudedge/protocol";
import type { ClusterBus } from "../cluster/cluster-bus.js";
import type { EventLogAppend } from "../event-log/event-log-writer.js";
import type { DeviceHub } from "../hub/device-hub.js";
import type { Store } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import type { Logger } from "../util/logger.js";
import type { CommandQuotaLimits } from "./command-quota.js";

export interface SendOptions {
  /** How long the device has, from the first sending, to answer. Default 30 s. */
  timeoutMs?: number;
  /** How long the command may wait QUEUED for an offline device; without it, offline fails at once. */
  ttlMs?: number;
  /** Set by group fan-out. */
  groupId?: string;
  /**
   * The command's id, chosen by the caller instead of generated: the job engine records it
   * on the execution before sending, so a restart in between finds (or sends) that very
   * command and never a second one. A taken id resolves with the stored command.
   */
  commandId?: string;
}

export interface SendAndWaitOptions extends SendOptions {
  /** How long to wait for the outcome. Default: ttlMs + timeoutMs + 1 s. */
  waitMs?: number;
}

export interface FanOutItem {
  deviceId: string;
  commandId?: string;
  status?: CommandStatus;
  error?: { code: string; message: string };
}

export interface CommandBrokerOptions {
  store: Store;
  hub: DeviceHub;
  bus: ClusterBus;
  ids: IdGenerator;
  clock?: Clock;
  logger?: Logger;
  /** Appends to the device's event log. */
  log?: EventLogAppend;
  defaultTimeoutMs?: number;
  /** Upper bound for timeoutMs and ttlMs. Default 24 h / 30 days. */
  maxTimeoutMs?: number;
  maxTtlMs?: number;
  /** Per-device bound on unfinished commands (count and params bytes); past it 429 queue_full. */
  quota?: CommandQuotaLimits;
  /** Deadline and TTL sweep period. Default 1 s. */
  sweepMs?: number;
  /**
   * Period of the store scan for overdue non-terminal commands, whichever node they were
   * created or sent on (in a cluster the node that sent a command may have died). Default 30 s.
   */
  scanMs?: number;
}
