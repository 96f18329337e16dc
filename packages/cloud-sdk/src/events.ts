import type { ExecutionCounts, Job, JobExecution } from "./jobs/job-types.js";
import type { CommandRecord, StatusRecord } from "./repos/types.js";

/** Why a device went online or offline (docs/protocol.md, presence). */
export type PresenceReason =
  | "connected"
  | "client_closed"
  | "server_closed"
  | "heartbeat_timeout"
  | "replaced"
  | "auth_revoked"
  | "server_shutdown"
  | "connection_lost";

export const PRESENCE_REASONS: readonly PresenceReason[] = [
  "connected",
  "client_closed",
  "server_closed",
  "heartbeat_timeout",
  "replaced",
  "auth_revoked",
  "server_shutdown",
  "connection_lost",
];

export interface PresenceEvent {
  type: "presence";
  deviceId: string;
  at: number;
  online: boolean;
  reason: PresenceReason;
  sessionId: string;
  nodeId: string;
}

export interface StatusEvent {
  type: "status";
  deviceId: string;
  at: number;
  status: StatusRecord;
}

export interface StateEvent {
  type: "state";
  deviceId: string;
  at: number;
  side: "desired" | "reported";
  version: number;
  patch: Record<string, unknown>;
}

export interface CommandEvent {
  type: "command";
  deviceId: string;
  at: number;
  command: CommandRecord;
}

/**
 * A device was deleted (internal: nodes forget what they hold in memory for it, such as its
 * latest status). Not one of the SSE types: the reference server's stream filters it out.
 */
export interface DeviceDeletedEvent {
  type: "device_deleted";
  deviceId: string;
  at: number;
}

/**
 * A device may have come to match a job's targets (internal, like `device_deleted`): it was
 * registered, its labels changed, or it joined a group. Continuous jobs add it.
 */
export interface DeviceChangedEvent {
  type: "device_changed";
  deviceId: string;
  at: number;
  change: "registered" | "relabelled" | "joined_group";
  /** The group it joined (`joined_group`). */
  groupId?: string;
}

/** A job changed: its status, wave, total or reason (not on every execution: see `job.execution`). */
export interface JobEvent {
  type: "job";
  /** Jobs are not one device's: absent, so a per-device stream leaves them out. */
  deviceId?: undefined;
  jobId: string;
  at: number;
  job: Job;
  counts: ExecutionCounts;
}

/** One execution of a job changed status. */
export interface JobExecutionEvent {
  type: "job.execution";
  deviceId: string;
  jobId: string;
  at: number;
  execution: JobExecution;
}

/**
 * What the cloud tells the world: fanned out across a cluster. The reference server serves
 * presence, status, state and command events as SSE; `device_deleted` is for the nodes.
 */
export type CloudEvent =
  | PresenceEvent
  | StatusEvent
  | StateEvent
  | CommandEvent
  | DeviceDeletedEvent
  | DeviceChangedEvent
  | JobEvent
  | JobExecutionEvent;
