import { requireId } from "../../repos/ids.js";
import { toJson } from "../../repos/json.js";
import { id, idOrNull, num, numOrNull, type Row, type SqlParam, str } from "../../repos/sql/rows.js";
import type { ExecutionPatch, ExecutionStatus, Job, JobExecution, JobPatch, JobSpec } from "../job-types.js";

export const JOB_COLUMNS =
  "id, status, spec, reason, total, wave, soak_until, created_at, updated_at, started_at, finished_at";

export const EXECUTION_COLUMNS = "job_id, device_id, status, command_id, wave, error, created_at, updated_at";

/** The immutable part of a job, stored as one JSON document. */
function specOf(job: Job): JobSpec {
  const { name, method, params, targets, targetSelection, rollout, waves, abort } = job;
  const { executionTimeoutMs, ttlMs, scheduledAt } = job;
  return {
    name,
    method,
    params,
    targets,
    targetSelection,
    rollout,
    waves,
    abort,
    executionTimeoutMs,
    ttlMs,
    scheduledAt,
  };
}

export function jobValues(job: Job): SqlParam[] {
  return [
    requireId(job.id),
    job.status,
    toJson(specOf(job)),
    job.reason ? toJson(job.reason) : null,
    job.total,
    job.wave,
    job.soakUntil,
    job.createdAt,
    job.updatedAt,
    job.startedAt,
    job.finishedAt,
  ];
}

export function jobFromRow(row: Row): Job {
  const spec = JSON.parse(str(row["spec"])) as JobSpec;
  return {
    id: id(row["id"]),
    ...spec,
    status: str(row["status"]) as Job["status"],
    reason: row["reason"] === null ? null : JSON.parse(str(row["reason"])),
    total: numOrNull(row["total"]),
    wave: num(row["wave"]),
    soakUntil: numOrNull(row["soak_until"]),
    createdAt: num(row["created_at"]),
    updatedAt: num(row["updated_at"]),
    startedAt: numOrNull(row["started_at"]),
    finishedAt: numOrNull(row["finished_at"]),
  };
}

export function executionFromRow(row: Row): JobExecution {
  return {
    jobId: id(row["job_id"]),
    deviceId: id(row["device_id"]),
    status: str(row["status"]) as ExecutionStatus,
    commandId: idOrNull(row["command_id"]),
    wave: numOrNull(row["wave"]),
    error: row["error"] === null ? null : JSON.parse(str(row["error"])),
    createdAt: num(row["created_at"]),
    updatedAt: num(row["updated_at"]),
  };
}

/** Patchable job fields in a fixed order, so each patch shape has one statement text. */
const JOB_PATCH: Array<[keyof JobPatch, string]> = [
  ["status", "status"],
  ["reason", "reason"],
  ["total", "total"],
  ["wave", "wave"],
  ["soakUntil", "soak_until"],
  ["startedAt", "started_at"],
  ["finishedAt", "finished_at"],
  ["updatedAt", "updated_at"],
];

const EXECUTION_PATCH: Array<[keyof ExecutionPatch, string]> = [
  ["status", "status"],
  ["commandId", "command_id"],
  ["wave", "wave"],
  ["error", "error"],
  ["updatedAt", "updated_at"],
];

function assignments<P extends object>(
  fields: Array<[keyof P, string]>,
  patch: P,
  encode: (field: keyof P, value: unknown) => SqlParam,
): { sql: string; values: SqlParam[] } {
  const set = fields.filter(([field]) => patch[field] !== undefined);
  return {
    sql: set.map(([, column]) => `${column} = ?`).join(", "),
    values: set.map(([field]) => encode(field, patch[field])),
  };
}

export function jobAssignments(patch: JobPatch): { sql: string; values: SqlParam[] } {
  return assignments(JOB_PATCH, patch, (field, value) =>
    field === "reason" ? (value === null ? null : toJson(value)) : (value as SqlParam),
  );
}

export function executionAssignments(patch: ExecutionPatch): { sql: string; values: SqlParam[] } {
  return assignments(EXECUTION_PATCH, patch, (field, value) => {
    if (field === "error") return value === null ? null : toJson(value);
    if (field === "commandId") return value === null ? null : requireId(value, "commandId");
    return value as SqlParam;
  });
}
