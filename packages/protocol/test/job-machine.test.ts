import { describe, expect, it } from "vitest";
import {
  IllegalTransitionError,
  JOB_STATUSES,
  type JobEvent,
  type JobStatus,
  jobMachine,
  jobTransition,
} from "../src/index.js";

// The complete legal table, written out independently of the source: every other pair is rejected.
const JOB_LEGAL: Array<[JobStatus, JobEvent, JobStatus]> = [
  ["SCHEDULED", "start", "IN_PROGRESS"],
  ["SCHEDULED", "pause", "PAUSED"],
  ["SCHEDULED", "cancel", "CANCELED"],
  ["IN_PROGRESS", "pause", "PAUSED"],
  ["IN_PROGRESS", "complete", "COMPLETED"],
  ["IN_PROGRESS", "cancel", "CANCELED"],
  ["IN_PROGRESS", "abort", "ABORTED"],
  ["PAUSED", "resume", "IN_PROGRESS"],
  ["PAUSED", "cancel", "CANCELED"],
  ["PAUSED", "abort", "ABORTED"],
];

describe("job state machine", () => {
  it.each(JOB_LEGAL)("%s --%s--> %s", (from, event, to) => {
    expect(jobTransition(from, event)).toBe(to);
  });

  const legal = new Set(JOB_LEGAL.map(([s, e]) => `${s}/${e}`));
  const illegal = JOB_STATUSES.flatMap((s) =>
    jobMachine.events.filter((e) => !legal.has(`${s}/${e}`)).map((e): [JobStatus, JobEvent] => [s, e]),
  );
  it("has 36 status/event pairs: 10 legal, 26 illegal", () => {
    expect(illegal).toHaveLength(26);
  });
  it.each(illegal)("%s --%s--> rejected", (from, event) => {
    expect(() => jobTransition(from, event)).toThrowError(IllegalTransitionError);
  });
  it("terminal statuses are exactly COMPLETED CANCELED ABORTED", () => {
    expect(JOB_STATUSES.filter((s) => jobMachine.isTerminal(s))).toEqual([
      "COMPLETED",
      "CANCELED",
      "ABORTED",
    ]);
  });
});
