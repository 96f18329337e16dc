import { type JobEvent, jobMachine } from "@cloudedge/protocol";
import type { CloudEvent } from "../events.js";
import type { Store } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { ExecutionCounts, Job, JobExecution, JobPatch } from "./job-types.js";

/**
 * A job's stored record as its driver changes it: every status change is a `jobMachine` event
 * applied with a compare-and-set on the stored status, and every change is announced (`job`
 * events; `job.execution` for executions).
 */
export class JobLedger {
  constructor(
    public job: Job,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly publish: (event: CloudEvent) => void,
    /** The counts a `job` event carries (the driver's live ones, or the store's). */
    private readonly counts: () => ExecutionCounts,
  ) {}

  /** Applies a job-machine event; false when the machine does not allow it or the stored status had moved (then re-read). */
  async move(event: JobEvent, patch: Omit<JobPatch, "updatedAt">): Promise<boolean> {
    const status = jobMachine.next(this.job.status, event);
    if (status === undefined) return false;
    const updated = await this.store.jobs.update(this.job.id, this.job.status, {
      ...patch,
      status,
      updatedAt: this.clock.now(),
    });
    if (!updated) {
      this.job = (await this.store.jobs.get(this.job.id)) ?? this.job;
      return false;
    }
    this.job = updated;
    this.announce();
    return true;
  }

  /** Changes progress fields (total, wave, soak) without a status change. */
  async patch(patch: Omit<JobPatch, "updatedAt">): Promise<void> {
    const updated = await this.store.jobs.update(this.job.id, this.job.status, {
      ...patch,
      updatedAt: this.clock.now(),
    });
    this.job = updated ?? (await this.store.jobs.get(this.job.id)) ?? this.job;
    if (updated) this.announce();
  }

  announce(): void {
    const { job } = this;
    this.publish({ type: "job", jobId: job.id, at: job.updatedAt, job, counts: { ...this.counts() } });
  }

  announceExecution(execution: JobExecution): void {
    this.publish({
      type: "job.execution",
      jobId: execution.jobId,
      deviceId: execution.deviceId,
      at: execution.updatedAt,
      execution,
    });
  }
}
