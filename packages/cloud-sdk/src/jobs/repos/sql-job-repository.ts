import { CloudErrorCode, ConflictError } from "../../errors.js";
import { parseId } from "../../repos/ids.js";
import { afterId, pageLimit, toPage } from "../../repos/paging.js";
import { chunks, placeholders } from "../../repos/sql/batches.js";
import type { Dialect } from "../../repos/sql/dialect.js";
import { num, type Row, type SqlParam, str } from "../../repos/sql/rows.js";
import type { SqlDb, SqlRunner } from "../../repos/sql/sql-db.js";
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
import {
  EXECUTION_COLUMNS,
  executionAssignments,
  executionFromRow,
  JOB_COLUMNS,
  jobAssignments,
  jobFromRow,
  jobValues,
} from "./job-rows.js";

const UNFINISHED = ["SCHEDULED", "IN_PROGRESS", "PAUSED"];

/** Jobs and executions in SQL (tables `jobs`, `job_executions`: migration 3). */
export class SqlJobRepository implements JobRepository {
  constructor(
    private readonly db: SqlDb,
    private readonly dialect: Dialect,
  ) {}

  async create(job: Job): Promise<void> {
    const values = jobValues(job);
    await this.db.run(
      (db) => db.write(`INSERT INTO jobs (${JOB_COLUMNS}) VALUES (${placeholders(values.length)})`, values),
      () => new ConflictError(CloudErrorCode.CONFLICT, "job id is taken"),
    );
  }

  async get(id: string): Promise<Job | undefined> {
    const key = parseId(id);
    return this.db.run(async (db) => (key === undefined ? undefined : this.read(db, key)));
  }

  private async read(db: SqlRunner, key: bigint): Promise<Job | undefined> {
    const row = await db.get(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`, [key]);
    return row && jobFromRow(row);
  }

  async list(query: JobQuery = {}): Promise<Page<Job>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const params: SqlParam[] = [];
    const where: string[] = [];
    if (after !== undefined) {
      where.push("id < ?");
      params.push(after);
    }
    if (query.status?.length) {
      where.push(`status IN (${placeholders(query.status.length)})`);
      params.push(...query.status);
    }
    const filter = where.length ? ` WHERE ${where.join(" AND ")}` : "";
    const sql = `SELECT ${JOB_COLUMNS} FROM jobs${filter} ORDER BY id DESC${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) => toPage((await db.all(sql, params)).map(jobFromRow), limit, (j) => j.id));
  }

  async listUnfinished(): Promise<Job[]> {
    return this.db.run(async (db) =>
      (
        await db.all(
          `SELECT ${JOB_COLUMNS} FROM jobs WHERE status IN (${placeholders(UNFINISHED.length)}) ORDER BY id`,
          UNFINISHED,
        )
      ).map(jobFromRow),
    );
  }

  async update(id: string, expected: Job["status"], patch: JobPatch): Promise<Job | undefined> {
    const key = parseId(id);
    const { sql, values } = jobAssignments(patch);
    return this.db.tx(async (db) => {
      if (key === undefined) return undefined;
      const changed = await db.write(`UPDATE jobs SET ${sql} WHERE id = ? AND status = ?`, [
        ...values,
        key,
        expected,
      ]);
      return changed === 0 ? undefined : this.read(db, key);
    });
  }

  async addExecutions(jobId: string, deviceIds: string[], now: number): Promise<void> {
    const job = parseId(jobId);
    const devices = deviceIds.map(parseId).filter((d): d is bigint => d !== undefined);
    if (job === undefined || devices.length === 0) return this.db.run(async () => undefined);
    await this.db.run(async (db) => {
      for (const batch of chunks(devices)) {
        // From `devices`: a device deleted meanwhile is left out instead of failing its key.
        await db.writeUncached(
          `INSERT INTO job_executions (${EXECUTION_COLUMNS})
           SELECT ?, id, 'PENDING', NULL, NULL, NULL, ?, ? FROM devices WHERE id IN (${placeholders(batch.length)})
           ${this.dialect.ignoreDuplicate("status")}`,
          [job, now, now, ...batch],
        );
      }
    });
  }

  async getExecution(jobId: string, deviceId: string): Promise<JobExecution | undefined> {
    const job = parseId(jobId);
    const device = parseId(deviceId);
    return this.db.run(async (db) =>
      job === undefined || device === undefined ? undefined : this.readExecution(db, job, device),
    );
  }

  private async readExecution(db: SqlRunner, job: bigint, device: bigint): Promise<JobExecution | undefined> {
    const row = await db.get(
      `SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE job_id = ? AND device_id = ?`,
      [job, device],
    );
    return row && executionFromRow(row);
  }

  async listExecutions(jobId: string, query: ExecutionQuery = {}): Promise<Page<JobExecution>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const job = parseId(jobId);
    const params: SqlParam[] = [job ?? -1];
    let sql = `SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE job_id = ?`;
    if (query.status?.length) {
      sql += ` AND status IN (${placeholders(query.status.length)})`;
      params.push(...query.status);
    }
    if (after !== undefined) {
      sql += " AND device_id > ?";
      params.push(after);
    }
    sql += ` ORDER BY device_id${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) =>
      job === undefined
        ? { items: [] }
        : toPage((await db.all(sql, params)).map(executionFromRow), limit, (e) => e.deviceId),
    );
  }

  async transitionExecution(
    jobId: string,
    deviceId: string,
    expected: ExecutionStatus,
    patch: ExecutionPatch,
  ): Promise<JobExecution | undefined> {
    const job = parseId(jobId);
    const device = parseId(deviceId);
    const { sql, values } = executionAssignments(patch);
    if (job === undefined || device === undefined) return this.db.run(async () => undefined);
    const update = `UPDATE job_executions SET ${sql} WHERE job_id = ? AND device_id = ? AND status = ?`;
    const params = [...values, job, device, expected];
    if (this.dialect.updateReturning) {
      return this.db.run(async (db) => {
        const row = await db.get(`${update} RETURNING ${EXECUTION_COLUMNS}`, params);
        return row && executionFromRow(row);
      });
    }
    return this.db.tx(async (db) =>
      (await db.write(update, params)) === 0 ? undefined : this.readExecution(db, job, device),
    );
  }

  async cancelExecutions(jobId: string, statuses: readonly ExecutionStatus[], now: number): Promise<number> {
    const job = parseId(jobId);
    if (job === undefined || statuses.length === 0) return this.db.run(async () => 0);
    return this.db.run((db) =>
      db.writeUncached(
        `UPDATE job_executions SET status = 'CANCELED', updated_at = ? WHERE job_id = ? AND status IN (${placeholders(statuses.length)})`,
        [now, job, ...statuses],
      ),
    );
  }

  async countExecutions(jobId: string, wave?: number): Promise<ExecutionCounts> {
    const job = parseId(jobId);
    const counts = emptyCounts();
    if (job === undefined) return this.db.run(async () => counts);
    const byWave = wave === undefined ? "" : " AND wave = ?";
    const rows: Row[] = await this.db.run((db) =>
      db.all(
        `SELECT status, COUNT(*) AS n FROM job_executions WHERE job_id = ?${byWave} GROUP BY status`,
        wave === undefined ? [job] : [job, wave],
      ),
    );
    for (const row of rows) counts[str(row["status"]) as ExecutionStatus] = num(row["n"]);
    return counts;
  }

  async listByDevice(deviceId: string, query: PageQuery = {}): Promise<Page<JobExecution>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const device = parseId(deviceId);
    const params: SqlParam[] = [device ?? -1];
    let sql = `SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE device_id = ?`;
    if (after !== undefined) {
      sql += " AND job_id < ?";
      params.push(after);
    }
    sql += ` ORDER BY job_id DESC${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) =>
      device === undefined
        ? { items: [] }
        : toPage((await db.all(sql, params)).map(executionFromRow), limit, (e) => e.jobId),
    );
  }
}
