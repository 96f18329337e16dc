import type { Store } from "../repos/types.js";
import { REJECTION_CODES } from "./job-rules.js";
import {
  type ExecutionCounts,
  type ExecutionStatus,
  emptyCounts,
  IN_FLIGHT_STATUSES,
  isFinishedExecution,
  type Job,
  type JobExecution,
} from "./job-types.js";

/** An execution in flight: dispatched, its command not ended. */
export interface Tracked {
  deviceId: string;
  status: ExecutionStatus;
  wave: number;
  /** broker.send is under way: the poll must not send it again meanwhile. */
  sending: boolean;
}

/** A job's executions in `status`, paged from the store by device id (1,000 at a time). */
export async function* executionPages(
  store: Store,
  jobId: string,
  status: readonly ExecutionStatus[],
): AsyncGenerator<JobExecution> {
  let after: string | undefined;
  do {
    const page = await store.jobs.listExecutions(jobId, {
      status: [...status],
      limit: 1000,
      ...(after ? { after } : {}),
    });
    yield* page.items;
    after = page.nextCursor;
  } while (after);
}

/**
 * What a job's driver keeps in memory, and nothing more: live counts (whole job and current
 * wave), how many FAILED were refusals (abort rules `on: REJECTED`), and the in-flight
 * executions by command id (≤ maxInFlight). Loaded from the store; kept current by `moved`.
 */
export class ExecutionBook {
  counts: ExecutionCounts = emptyCounts();
  waveCounts: ExecutionCounts = emptyCounts();
  rejected = 0;
  readonly inFlight = new Map<string, Tracked>();

  constructor(private readonly store: Store) {}

  /** Counts, refusals and in-flight executions as the store has them. */
  async load(job: Job): Promise<void> {
    await this.recount(job);
    this.rejected = 0;
    if (job.abort.some((r) => r.on === "REJECTED"))
      for await (const e of executionPages(this.store, job.id, ["FAILED"]))
        if (isRejection(e)) this.rejected += 1;
    for await (const e of executionPages(this.store, job.id, IN_FLIGHT_STATUSES)) {
      if (e.commandId === null) continue;
      this.inFlight.set(e.commandId, {
        deviceId: e.deviceId,
        status: e.status,
        wave: e.wave ?? 0,
        sending: false,
      });
    }
  }

  /** The counts again from the store (after rows vanished with their deleted devices). */
  async recount(job: Job): Promise<void> {
    this.counts = await this.store.jobs.countExecutions(job.id);
    if (job.waves) this.waveCounts = await this.store.jobs.countExecutions(job.id, job.wave);
  }

  /** The next wave starts with nothing in it. */
  nextWave(): void {
    this.waveCounts = emptyCounts();
  }

  /** Bookkeeping of an execution the driver moved (`tracked` as it was) in a job whose current wave is `job.wave`. */
  moved(job: Job, commandId: string, tracked: Tracked, updated: JobExecution): void {
    const from = tracked.status;
    const to = updated.status;
    this.counts[from] -= 1;
    this.counts[to] += 1;
    if (job.waves && tracked.wave === job.wave) {
      // PENDING executions belong to no wave yet: a claim only adds to the wave.
      if (from !== "PENDING") this.waveCounts[from] -= 1;
      this.waveCounts[to] += 1;
    }
    tracked.status = to;
    if (isFinishedExecution(to)) {
      this.inFlight.delete(commandId);
      if (isRejection(updated)) this.rejected += 1;
    }
  }
}

function isRejection(e: JobExecution): boolean {
  return e.status === "FAILED" && REJECTION_CODES.has(e.error?.code ?? "");
}
