import type { Store } from "../repos/types.js";
import type { JobLedger } from "./job-ledger.js";

/**
 * Operator actions, store first: any node may take them (a compare-and-set on the job's
 * status), and the node driving the job — this one or another — follows the stored record
 * (JobRunner.refresh). False when the status moved meanwhile.
 */
export const jobControl = {
  /** Stops dispatching; what is in flight goes on. */
  pause: (ledger: JobLedger): Promise<boolean> =>
    ledger.move("pause", { reason: { type: "operator", action: "pause" } }),

  /** Dispatches again; a job a wave paused goes on with the next wave (in the same write). */
  resume: (ledger: JobLedger, now: number): Promise<boolean> => {
    const { job } = ledger;
    const advance = job.reason?.type === "wave_threshold" ? { wave: job.wave + 1, soakUntil: null } : {};
    const started = job.startedAt === null ? { startedAt: now } : {};
    return ledger.move("resume", { reason: null, ...started, ...advance });
  },

  /** Ends the job CANCELED and its PENDING executions with it; `force` is in the reason, for the driver. */
  cancel: async (ledger: JobLedger, store: Store, force: boolean, now: number): Promise<boolean> => {
    const reason = { type: "operator" as const, action: "cancel" as const, ...(force ? { force } : {}) };
    if (!(await ledger.move("cancel", { reason, finishedAt: now }))) return false;
    await store.jobs.cancelExecutions(ledger.job.id, ["PENDING"], now);
    return true;
  },
};
