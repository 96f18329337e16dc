import { jobMachine } from "@cloudedge/protocol";
import type { CommandBroker } from "../broker/command-broker.js";
import type { ClusterBus } from "../cluster/cluster-bus.js";
import { CloudError, CloudErrorCode, NotFoundError } from "../errors.js";
import type { Page, PageQuery, Store } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { JobRunner } from "./job-runner.js";
import { assertTargets } from "./job-targets.js";
import type { ExecutionCounts, ExecutionQuery, Job, JobExecution, JobQuery } from "./job-types.js";
import { type NewJobInput, validateJobInput } from "./job-validation.js";

export interface JobServiceOptions {
  store: Store;
  broker: CommandBroker;
  bus: ClusterBus;
  ids: IdGenerator;
  clock?: Clock;
  logger?: Logger;
  /** executionTimeoutMs when a job gives none. Default 30 s. */
  defaultTimeoutMs?: number;
  /** How often a driver re-reads its in-flight commands from the store (lost events). Default 30 s. */
  pollMs?: number;
}

/** A job with its live counts per execution status. */
export type JobView = Job & { counts: ExecutionCounts };

/**
 * Fleet jobs (shared/DESIGN.md, Jobs): one operation over many devices, one execution per
 * device, each execution a command of the CommandBroker. This node drives every unfinished
 * job of the store (`start` resumes them after a restart); a driver holds O(maxInFlight).
 */
export class JobService {
  private readonly runners = new Map<string, JobRunner>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly options: JobServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    // Every command change of the cluster: each runner picks its own executions' commands.
    this.unsubscribe = options.bus.subscribe((event) => {
      if (event.type === "command") for (const runner of this.runners.values()) runner.observe(event.command);
      else if (event.type === "device_changed")
        for (const runner of this.runners.values()) runner.consider(event.deviceId, event.groupId);
    });
  }

  /** Resumes every unfinished job of the store; call once at start-up, after the broker recovered. */
  async start(): Promise<void> {
    for (const job of await this.options.store.jobs.listUnfinished()) await this.drive(job);
  }

  /**
   * Validates and creates a job; it starts at once (or at `scheduledAt`). Throws ValidationError,
   * CloudError invalid_selector / invalid_rollout / unknown_target / empty_target_set (400, each
   * with `details.fields`), or the broker's command validation errors — and then nothing is created.
   */
  async create(input: NewJobInput): Promise<JobView> {
    const { store, ids, broker } = this.options;
    const spec = validateJobInput(input, this.options.defaultTimeoutMs ?? 30_000);
    broker.validate(spec.method, spec.params, {
      timeoutMs: spec.executionTimeoutMs,
      ...(spec.ttlMs !== null ? { ttlMs: spec.ttlMs } : {}),
    });
    await assertTargets(store, spec.targets);
    const now = this.clock.now();
    const scheduled = spec.scheduledAt !== null && spec.scheduledAt > now;
    const job: Job = {
      ...spec,
      id: ids(),
      status: scheduled ? "SCHEDULED" : "IN_PROGRESS",
      reason: null,
      total: null,
      wave: 0,
      soakUntil: null,
      createdAt: now,
      updatedAt: now,
      startedAt: scheduled ? null : now,
      finishedAt: null,
    };
    await store.jobs.create(job);
    const counts = await store.jobs.countExecutions(job.id);
    void this.options.bus.publish({ type: "job", jobId: job.id, at: now, job, counts }).catch(() => {});
    await this.drive(job);
    return { ...job, counts };
  }

  /** The job with live counts; NotFoundError(job_not_found). */
  async get(id: string): Promise<JobView> {
    return this.view(await this.find(id));
  }

  /** Jobs newest first, each with its counts. */
  async list(query: JobQuery = {}): Promise<Page<JobView>> {
    const page = await this.options.store.jobs.list(query);
    const items = await Promise.all(page.items.map((job) => this.view(job)));
    return { ...page, items };
  }

  /** The job's executions by device id, optionally of some statuses; NotFoundError(job_not_found). */
  async executions(id: string, query: ExecutionQuery = {}): Promise<Page<JobExecution>> {
    await this.find(id);
    return this.options.store.jobs.listExecutions(id, query);
  }

  /** A device's executions, newest job first; NotFoundError(device_not_found). */
  async deviceJobs(deviceId: string, query: PageQuery = {}): Promise<Page<JobExecution>> {
    if (!(await this.options.store.devices.get(deviceId)))
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    return this.options.store.jobs.listByDevice(deviceId, query);
  }

  /** Stops dispatching (in-flight executions go on); a paused job stays so. 409 job_finished once it ended. */
  async pause(id: string): Promise<JobView> {
    const job = this.unfinished(await this.find(id));
    if (job.status !== "PAUSED") await (await this.runner(job)).pause();
    return this.get(id);
  }

  /** Dispatches again (after a wave paused it: with the next wave). 409 job_not_paused / job_finished. */
  async resume(id: string): Promise<JobView> {
    const job = this.unfinished(await this.find(id));
    if (job.status !== "PAUSED")
      throw new CloudError(CloudErrorCode.JOB_NOT_PAUSED, "the job is not paused", 409);
    await (await this.runner(job)).resume();
    return this.get(id);
  }

  /**
   * Ends the job CANCELED: pending executions and queued commands are canceled; with `force`
   * executions already sent are CANCELED too (their results are ignored). 409 job_finished when it had ended.
   */
  async cancel(id: string, options: { force?: boolean } = {}): Promise<JobView> {
    const job = this.unfinished(await this.find(id));
    await (await this.runner(job)).cancel(options.force === true);
    return this.get(id);
  }

  /** Stops driving (timers); jobs stay in the store and resume with the next `start`. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const runner of this.runners.values()) runner.close();
    this.runners.clear();
  }

  private async find(id: string): Promise<Job> {
    const job = await this.options.store.jobs.get(id);
    if (!job) throw new NotFoundError(CloudErrorCode.JOB_NOT_FOUND, "no such job");
    return job;
  }

  private unfinished(job: Job): Job {
    if (jobMachine.isTerminal(job.status))
      throw new CloudError(CloudErrorCode.JOB_FINISHED, `the job is ${job.status}`, 409, true, {
        jobStatus: job.status,
      });
    return job;
  }

  private async view(job: Job): Promise<JobView> {
    const runner = this.runners.get(job.id);
    if (runner) return { ...runner.job, counts: { ...runner.counts } };
    return { ...job, counts: await this.options.store.jobs.countExecutions(job.id) };
  }

  private async runner(job: Job): Promise<JobRunner> {
    return this.runners.get(job.id) ?? (await this.drive(job));
  }

  private async drive(job: Job): Promise<JobRunner> {
    const existing = this.runners.get(job.id);
    if (existing) return existing;
    const { store, broker, ids, bus } = this.options;
    const runner = new JobRunner(job, {
      store,
      broker,
      ids,
      clock: this.clock,
      logger: this.logger,
      publish: (event) => void bus.publish(event).catch(() => {}),
      pollMs: this.options.pollMs ?? 30_000,
      done: (jobId) => {
        if (this.runners.get(jobId) === runner) this.runners.delete(jobId);
      },
    });
    if (this.closed) return runner;
    this.runners.set(job.id, runner);
    await runner.open();
    return runner;
  }
}
