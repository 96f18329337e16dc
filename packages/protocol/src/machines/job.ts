import { defineMachine } from "./machine.js";

/** Fleet job statuses (shared/DESIGN.md, Jobs): SCHEDULED → IN_PROGRESS ⇄ PAUSED → COMPLETED | CANCELED | ABORTED. */
export const JobStatus = {
  SCHEDULED: "SCHEDULED",
  IN_PROGRESS: "IN_PROGRESS",
  PAUSED: "PAUSED",
  COMPLETED: "COMPLETED",
  CANCELED: "CANCELED",
  ABORTED: "ABORTED",
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/**
 * Events: `start` (scheduledAt reached), `pause` (operator, or a wave that cannot reach its
 * success threshold), `resume` (operator), `complete` (every execution ended), `cancel`
 * (operator), `abort` (an abort rule tripped).
 */
export type JobEvent = "start" | "pause" | "resume" | "complete" | "cancel" | "abort";

export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

export const jobMachine = defineMachine<JobStatus, JobEvent>(
  "job",
  JOB_STATUSES,
  ["start", "pause", "resume", "complete", "cancel", "abort"],
  {
    SCHEDULED: { start: "IN_PROGRESS", pause: "PAUSED", cancel: "CANCELED" },
    IN_PROGRESS: { pause: "PAUSED", complete: "COMPLETED", cancel: "CANCELED", abort: "ABORTED" },
    // Executions already sent still report while paused: an abort rule can still trip.
    // A paused job never completes on its own: resume (or cancel) decides.
    PAUSED: { resume: "IN_PROGRESS", cancel: "CANCELED", abort: "ABORTED" },
    COMPLETED: {},
    CANCELED: {},
    ABORTED: {},
  },
);

/** `jobMachine.transition`: the next job status, or throws IllegalTransitionError. */
export function jobTransition(status: JobStatus, event: JobEvent): JobStatus {
  return jobMachine.transition(status, event);
}
