import { CloudErrorCode, ConflictError } from "../../errors.js";
import { compareIds, requireId } from "../../repos/ids.js";
import { jsonClone } from "../../repos/json.js";
import type { MemoryTables } from "../../repos/memory/memory-tables.js";
import { afterId, pageLimit, toPage } from "../../repos/paging.js";
import type { Page, PageQuery } from "../../repos/types.js";
import {
  type ExecutionCounts,
  type ExecutionPatch,
  type ExecutionQuery,
  type ExecutionStatus,
  emptyCounts,
  type Job,
  type JobExecution,
  type JobPatch,
  type JobQuery,
  type JobRepository,
} from "../job-types.js";

const UNFINISHED = new Set(["SCHEDULED", "IN_PROGRESS", "PAUSED"]);

/** Jobs in a Map, executions in a Map per job keyed by device id. */
export class MemoryJobRepository implements JobRepository {
  constructor(private readonly t: MemoryTables) {}

  async create(job: Job): Promise<void> {
    this.t.assertOpen();
    requireId(job.id);
    if (this.t.jobs.has(job.id)) throw new ConflictError(CloudErrorCode.CONFLICT, "job id is taken");
    this.t.jobs.set(job.id, jsonClone(job));
    this.t.executions.set(job.id, new Map());
  }

  async get(id: string): Promise<Job | undefined> {
    this.t.assertOpen();
    const job = this.t.jobs.get(id);
    return job && jsonClone(job);
  }

  async list(query: JobQuery = {}): Promise<Page<Job>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const statuses = query.status?.length ? new Set<string>(query.status) : undefined;
    const jobs = [...this.t.jobs.values()]
      .filter((j) => after === undefined || BigInt(j.id) < after)
      .filter((j) => statuses === undefined || statuses.has(j.status))
      .sort((a, b) => compareIds(b.id, a.id))
      .slice(0, limit + 1)
      .map((j) => jsonClone(j));
    return toPage(jobs, limit, (j) => j.id);
  }

  async listUnfinished(): Promise<Job[]> {
    this.t.assertOpen();
    return [...this.t.jobs.values()]
      .filter((j) => UNFINISHED.has(j.status))
      .sort((a, b) => compareIds(a.id, b.id))
      .map((j) => jsonClone(j));
  }

  async update(id: string, expected: Job["status"], patch: JobPatch): Promise<Job | undefined> {
    this.t.assertOpen();
    const job = this.t.jobs.get(id);
    if (!job || job.status !== expected) return undefined;
    const updated = { ...job, ...definedOf(patch) } as Job;
    this.t.jobs.set(id, jsonClone(updated));
    return jsonClone(updated);
  }

  async addExecutions(jobId: string, deviceIds: string[], now: number): Promise<void> {
    this.t.assertOpen();
    const executions = this.t.executions.get(jobId);
    if (!executions) return;
    for (const deviceId of deviceIds) {
      if (executions.has(deviceId) || !this.t.devices.has(deviceId)) continue;
      executions.set(deviceId, {
        jobId,
        deviceId,
        status: "PENDING",
        commandId: null,
        wave: null,
        error: null,
        createdAt: now,
        updatedAt: now,
      });
    }
  }

  async getExecution(jobId: string, deviceId: string): Promise<JobExecution | undefined> {
    this.t.assertOpen();
    const execution = this.t.executions.get(jobId)?.get(deviceId);
    return execution && jsonClone(execution);
  }

  async listExecutions(jobId: string, query: ExecutionQuery = {}): Promise<Page<JobExecution>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const statuses = query.status?.length ? new Set<ExecutionStatus>(query.status) : undefined;
    const items = [...(this.t.executions.get(jobId)?.values() ?? [])]
      .filter((e) => after === undefined || BigInt(e.deviceId) > after)
      .filter((e) => statuses === undefined || statuses.has(e.status))
      .sort((a, b) => compareIds(a.deviceId, b.deviceId))
      .slice(0, limit + 1)
      .map((e) => jsonClone(e));
    return toPage(items, limit, (e) => e.deviceId);
  }

  async transitionExecution(
    jobId: string,
    deviceId: string,
    expected: ExecutionStatus,
    patch: ExecutionPatch,
  ): Promise<JobExecution | undefined> {
    this.t.assertOpen();
    if (patch.commandId) requireId(patch.commandId, "commandId");
    const executions = this.t.executions.get(jobId);
    const execution = executions?.get(deviceId);
    if (!executions || !execution || execution.status !== expected) return undefined;
    const updated = jsonClone({ ...execution, ...definedOf(patch) } as JobExecution);
    executions.set(deviceId, updated);
    return jsonClone(updated);
  }

  async cancelExecutions(jobId: string, statuses: readonly ExecutionStatus[], now: number): Promise<number> {
    this.t.assertOpen();
    let moved = 0;
    for (const [deviceId, e] of this.t.executions.get(jobId) ?? []) {
      if (!statuses.includes(e.status)) continue;
      this.t.executions.get(jobId)?.set(deviceId, { ...e, status: "CANCELED", updatedAt: now });
      moved += 1;
    }
    return moved;
  }

  async countExecutions(jobId: string, wave?: number): Promise<ExecutionCounts> {
    this.t.assertOpen();
    const counts = emptyCounts();
    for (const e of this.t.executions.get(jobId)?.values() ?? [])
      if (wave === undefined || e.wave === wave) counts[e.status] += 1;
    return counts;
  }

  async listByDevice(deviceId: string, query: PageQuery = {}): Promise<Page<JobExecution>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const items: JobExecution[] = [];
    for (const [jobId, executions] of this.t.executions) {
      const e = executions.get(deviceId);
      if (e && (after === undefined || BigInt(jobId) < after)) items.push(jsonClone(e));
    }
    items.sort((a, b) => compareIds(b.jobId, a.jobId));
    return toPage(items.slice(0, limit + 1), limit, (e) => e.jobId);
  }
}

/** The patch's keys with a defined value (undefined means "leave as is"). */
function definedOf<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
