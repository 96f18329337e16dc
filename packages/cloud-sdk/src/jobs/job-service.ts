import { jobMachine } from "@cloudedge/protocol";
import type { CommandBroker } from "../broker/command-broker.js";
import type { ClusterBus } from "../cluster/cluster-bus.js";
import { CloudError, CloudErrorCode, NotFoundError } from "../errors.js";
import type { Page, PageQuery, Store } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { jobControl } from "./job-control.js";
import { type JobLeases, localJobLeases } from "./job-leases.js";
import { JobLedger } from "./job-ledger.js";
import { JobRunner } from "./job-runner.js";
import { assertKnownTargets, assertTargets, countTargets } from "./job-targets.js";
import {
  type ExecutionCounts,
  type ExecutionQuery,
  emptyCounts,
  type Job,
  type JobExecution,
  type JobQuery,
} from "./job-types.js";
import { type NewJobInput, validateJobInput, validateTargetInput } from "./job-validation.js";

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
  /**
   * Which node drives each job. Default `localJobLeases` (this process drives every job); in
   * a cluster `await natsBus.jobLeases()`, so one node drives a job and another takes over
   * once that node's lease lapsed.
   */
  leases?: JobLeases;
}

/** A job with its live counts per execution status. */
export type JobView = Job & { counts: ExecutionCounts };

/**
 * Fleet jobs (shared/DESIGN.md, Jobs): one operation over many devices, one execution per
 * device, each execution a command of the CommandBroker. This node drives the unfinished jobs
 * whose lease it holds (`start` resumes them after a restart; with finite leases it renews
 * them and takes over lapsed ones every ttl/3); a driver holds O(maxInFlight). Operator
 * actions are store first, so any node takes them and the driver follows.
 */
export class JobService {
  private readonly runners = new Map<string, JobRunner>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly unsubscribe: () => void;
  private readonly leases: JobLeases;
  private leaseTimer: unknown;
  private closed = false;

  constructor(private readonly options: JobServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    // Every command change of the cluster: each runner picks its own executions' commands.
    this.leases = options.leases ?? localJobLeases;
    this.unsubscribe = options.bus.subscribe((event) => {
      if (event.type === "command") for (const runner of this.runners.values()) runner.observe(event.command);
      else if (event.type === "device_changed")
        for (const runner of this.runners.values()) runner.consider(event.deviceId, event.groupId);
      else if (event.type === "job")
        void this.runners
          .get(event.jobId)
          ?.refresh(event.job)
          .catch(() => {});
    });
  }

  /** Resumes every unfinished job of the store; call once at start-up, after the broker recovered. */
  async start(): Promise<void> {
    await this.adoptUnfinished();
    // Leases are renewed at a third of their life; without leases the same round (every
    // pollMs) still adopts a job whose driver could not start (the store failed just then).
    const { ttlMs } = this.leases;
    const roundMs = Number.isFinite(ttlMs) ? Math.max(50, ttlMs / 3) : (this.options.pollMs ?? 30_000);
    this.leaseTimer = this.clock.setInterval(() => void this.renew().catch(() => {}), roundMs);
  }

  /** Drives every unfinished job no node holds (a lapsed lease: its driver died). */
  private async adoptUnfinished(): Promise<void> {
    for (const job of await this.options.store.jobs.listUnfinished())
      if (!this.closed) await this.tryDrive(job);
  }

  /** Renews this node's leases (a lost one stops its runner), then adopts jobs whose driver died. */
  private async renew(): Promise<void> {
    for (const [jobId, runner] of [...this.runners]) {
      if (await this.leases.acquire(jobId).catch(() => false)) continue;
      runner.close(); // another node took it over (we stalled past the ttl)
      this.runners.delete(jobId);
    }
    await this.adoptUnfinished();
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
    // Stored: from here on a failure to start driving (the lease bucket unreachable) is not the
    // caller's — the job is adopted at the next lease round, or at the next start.
    await this.tryDrive(job);
    return { ...job, counts };
  }

  /**
   * How many distinct devices these targets select now (the preview before creating a job);
   * the same errors as `create` for them, except that selecting nobody is a 0, not an error.
   */
  async preview(targets: NewJobInput["targets"]): Promise<{ total: number }> {
    const { store } = this.options;
    const checked = validateTargetInput(targets);
    await assertKnownTargets(store, checked);
    return { total: await countTargets(store, checked) };
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
    if (job.status !== "PAUSED") await this.control(job, (ledger) => jobControl.pause(ledger));
    return this.get(id);
  }

  /** Dispatches again (after a wave paused it: with the next wave). 409 job_not_paused / job_finished. */
  async resume(id: string): Promise<JobView> {
    const job = this.unfinished(await this.find(id));
    if (job.status !== "PAUSED")
      throw new CloudError(CloudErrorCode.JOB_NOT_PAUSED, "the job is not paused", 409);
    await this.control(job, (ledger) => jobControl.resume(ledger, this.clock.now()));
    return this.get(id);
  }

  /**
   * Ends the job CANCELED: pending executions and queued commands are canceled; with `force`
   * executions already sent are CANCELED too (their results are ignored). 409 job_finished when it had ended.
   */
  async cancel(id: string, options: { force?: boolean } = {}): Promise<JobView> {
    const job = this.unfinished(await this.find(id));
    const { store } = this.options;
    await this.control(job, (ledger) =>
      jobControl.cancel(ledger, store, options.force === true, this.clock.now()),
    );
    return this.get(id);
  }

  /**
   * Applies an operator action to the stored job (any node may), announces it, and hands the
   * new record to this node's driver; the driver on another node gets it from the `job` event.
   * The status moved meanwhile: answered for its new status.
   */
  private async control(job: Job, action: (ledger: JobLedger) => Promise<boolean>): Promise<void> {
    const { store, bus } = this.options;
    // Announced once the whole action is stored (a cancel's PENDING executions too), so a
    // driver that follows the event recounts what the store says afterwards.
    const ledger = new JobLedger(job, store, this.clock, () => {}, emptyCounts);
    if (!(await action(ledger))) {
      this.unfinished(ledger.job); // ended meanwhile: 409 job_finished
      return;
    }
    const runner = this.runners.get(job.id);
    if (runner) await runner.refresh(ledger.job);
    const counts = runner ? { ...runner.counts } : await store.jobs.countExecutions(job.id);
    const at = ledger.job.updatedAt;
    await bus.publish({ type: "job", jobId: job.id, at, job: ledger.job, counts }).catch(() => {});
    if (!runner) await this.drive(ledger.job); // nobody drives it here: take it, if no one holds its lease
  }

  /** Stops driving (timers); jobs stay in the store and resume with the next `start`. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.leaseTimer !== undefined) this.clock.clearInterval(this.leaseTimer);
    for (const [jobId, runner] of this.runners) {
      runner.close();
      // Given up at once, so another node takes over without waiting for the lease to lapse.
      void this.leases.release(jobId).catch(() => {});
    }
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

  private async tryDrive(job: Job): Promise<void> {
    await this.drive(job).catch((error) =>
      this.logger.warn({ jobId: job.id, err: String(error) }, "job not driven here for now"),
    );
  }

  /** Drives the job here if this node gets its lease; undefined when another node holds it. */
  private async drive(job: Job): Promise<JobRunner | undefined> {
    const existing = this.runners.get(job.id);
    if (existing || this.closed) return existing;
    if (!(await this.leases.acquire(job.id))) return undefined;
    const { store, broker, ids, bus } = this.options;
    // Re-read under the lease: the previous driver may have moved it since it was listed.
    const current = (await store.jobs.get(job.id)) ?? job;
    // Checked after the last await: two drives of one job racing here make one runner.
    const raced = this.runners.get(job.id);
    if (raced || this.closed) return raced;
    const runner = new JobRunner(current, {
      store,
      broker,
      ids,
      clock: this.clock,
      logger: this.logger,
      publish: (event) => void bus.publish(event).catch(() => {}),
      pollMs: this.options.pollMs ?? 30_000,
      done: (jobId) => {
        if (this.runners.get(jobId) !== runner) return;
        this.runners.delete(jobId);
        void this.leases.release(jobId).catch(() => {});
      },
    });
    this.runners.set(job.id, runner);
    await runner.open();
    return runner;
  }
}
