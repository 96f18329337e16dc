import { COMMAND_STATUSES, type CommandStatus, isTerminalStatus, type JobStatus } from "@cloudedge/protocol";
import type { CommandError, Page, PageQuery } from "../repos/types.js";

export type { JobStatus };

/**
 * An execution's status: PENDING (not dispatched yet: the rollout has not reached it), then
 * exactly its command's lifecycle (docs/protocol.md §6.1), or SKIPPED (never sent: the
 * device was disabled or deleted when its turn came).
 */
export type ExecutionStatus = "PENDING" | CommandStatus | "SKIPPED";

/** Every execution status, in lifecycle order. */
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ["PENDING", ...COMMAND_STATUSES, "SKIPPED"];

/** Dispatched and not ended: QUEUED, SENT, DELIVERED (what `maxInFlight` bounds). */
export const IN_FLIGHT_STATUSES: readonly ExecutionStatus[] = COMMAND_STATUSES.filter(
  (s) => !isTerminalStatus(s),
);

/** True for an execution that will not change any more (a terminal command status, or SKIPPED). */
export function isFinishedExecution(status: ExecutionStatus): boolean {
  return status === "SKIPPED" || (status !== "PENDING" && isTerminalStatus(status));
}

/** Live counts: one entry per ExecutionStatus (zeros included). */
export type ExecutionCounts = Record<ExecutionStatus, number>;

/** Counts with every status at 0. */
export function emptyCounts(): ExecutionCounts {
  return Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0])) as ExecutionCounts;
}

/** Which devices a job targets: the union of all three (deduplicated: one execution per device). */
export interface JobTargets {
  deviceIds: string[];
  groupIds: string[];
  /** Label selector in Kubernetes syntax (see parseLabelSelector); null: none. */
  selector: string | null;
}

/** Exponential ramp-up (AWS IoT Jobs' shape): the rate grows by `incrementFactor` every `afterSucceeded` successes. */
export interface ExponentialRollout {
  baseRatePerMinute: number;
  incrementFactor: number;
  afterSucceeded: number;
}

export interface Rollout {
  /** Dispatches per minute, evenly spaced; null: no rate limit. */
  maxPerMinute: number | null;
  /** Executions dispatched and not ended, at most. Bounds the engine's memory per job. */
  maxInFlight: number;
  exponential: ExponentialRollout | null;
}

/** One wave: a share of the targets (`percent` of them, or `count` devices). */
export interface Wave {
  percent?: number;
  count?: number;
  /** Percent (0–100) of the wave's executions that must succeed before the next wave starts. */
  successThreshold: number;
  /** How long to wait after reaching the threshold before the next wave. */
  soakMs: number;
}

/** FAILED, TIMED_OUT, REJECTED (failed with method_not_found / invalid_params / exec_denied) or ANY of them (and EXPIRED). */
export type AbortOn = "FAILED" | "TIMED_OUT" | "REJECTED" | "ANY";

export interface AbortRule {
  on: AbortOn;
  /** Trips once matching outcomes are at least this percent (0–100) of the finished executions… */
  thresholdPercent: number;
  /** …and at least this many executions have finished. */
  minExecuted: number;
}

/** Why a job paused or ended (absent while it runs undisturbed). */
export type JobReason =
  | { type: "abort_rule"; rule: AbortRule; executed: number; matched: number; percent: number }
  | { type: "wave_threshold"; wave: number; size: number; succeeded: number; needed: number }
  | { type: "operator"; action: "pause" | "cancel"; force?: boolean };

/** What a job does, as created: never changes afterwards. */
export interface JobSpec {
  name: string;
  method: string;
  params: unknown;
  targets: JobTargets;
  /**
   * `snapshot`: targets are resolved once, when the job starts. `continuous`: devices that
   * later come to match (registered, relabelled, joined a target group) are added while the
   * job runs, and the job stays IN_PROGRESS until canceled.
   */
  targetSelection: "snapshot" | "continuous";
  rollout: Rollout;
  /** null: one rollout over every target. */
  waves: Wave[] | null;
  abort: AbortRule[];
  /** Per device, once delivered (the command's timeoutMs). */
  executionTimeoutMs: number;
  /** How long an execution waits for an offline device before EXPIRED; null: an offline device fails at once. */
  ttlMs: number | null;
  /** When the job starts; null: at once. */
  scheduledAt: number | null;
}

/** A job as stored: its spec plus where it stands. */
export interface Job extends JobSpec {
  id: string;
  status: JobStatus;
  reason: JobReason | null;
  /** How many executions it has; null until the targets are resolved. */
  total: number | null;
  /** Index of the current wave (0 without waves). */
  wave: number;
  /** When the current wave's soak ends (set once it reached its threshold); null otherwise. */
  soakUntil: number | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** What JobRepository.update may change. */
export type JobPatch = Partial<
  Pick<Job, "status" | "reason" | "total" | "wave" | "soakUntil" | "startedAt" | "finishedAt">
> & { updatedAt: number };

/** One device's part in a job; at most one per (job, device). */
export interface JobExecution {
  jobId: string;
  deviceId: string;
  status: ExecutionStatus;
  /** The command that carries it; set when dispatched (before it is sent). */
  commandId: string | null;
  /** The wave it was dispatched in; null while PENDING. */
  wave: number | null;
  error: CommandError | null;
  createdAt: number;
  updatedAt: number;
}

/** What JobRepository.transitionExecution may change. */
export type ExecutionPatch = Partial<Pick<JobExecution, "status" | "commandId" | "wave" | "error">> & {
  updatedAt: number;
};

export interface JobQuery extends PageQuery {
  status?: JobStatus[];
}

export interface ExecutionQuery extends PageQuery {
  status?: ExecutionStatus[];
}

/**
 * Jobs and their executions. Executions are keyed by (jobId, deviceId): a device is in a job
 * at most once, whatever adds it and however often. Times are epoch ms; ids Snowflakes.
 */
export interface JobRepository {
  /** Throws ConflictError(conflict) for a reused id. */
  create(job: Job): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  /** Newest first. */
  list(query?: JobQuery): Promise<Page<Job>>;
  /** Jobs not finished (SCHEDULED, IN_PROGRESS, PAUSED), oldest first: what a starting engine drives. */
  listUnfinished(): Promise<Job[]>;
  /** Compare-and-set on the status: applies the patch only while the job is `expected`; the updated job or undefined. */
  update(id: string, expected: JobStatus, patch: JobPatch): Promise<Job | undefined>;
  /**
   * Adds PENDING executions for these devices; devices already in the job, and devices that do
   * not exist (deleted meanwhile), are left out (countExecutions says how many there are).
   */
  addExecutions(jobId: string, deviceIds: string[], now: number): Promise<void>;
  getExecution(jobId: string, deviceId: string): Promise<JobExecution | undefined>;
  /** A job's executions by device id ascending, optionally only those in `status`. */
  listExecutions(jobId: string, query?: ExecutionQuery): Promise<Page<JobExecution>>;
  /** Compare-and-set on the execution's status; the updated execution or undefined. */
  transitionExecution(
    jobId: string,
    deviceId: string,
    expected: ExecutionStatus,
    patch: ExecutionPatch,
  ): Promise<JobExecution | undefined>;
  /** Moves every execution of the job in one of `statuses` to CANCELED; how many moved. */
  cancelExecutions(jobId: string, statuses: readonly ExecutionStatus[], now: number): Promise<number>;
  /** Live counts per status, of the whole job or of one wave. */
  countExecutions(jobId: string, wave?: number): Promise<ExecutionCounts>;
  /** A device's executions, newest job first. */
  listByDevice(deviceId: string, query?: PageQuery): Promise<Page<JobExecution>>;
}
