import { describe, expect, it } from "vitest";
import {
  ACTIVE_COMMAND_STATUSES,
  COMMAND_STATUSES,
  commandMachine,
  isTerminalStatus,
  TERMINAL_COMMAND_STATUSES,
} from "../src/index.js";

describe("command status lists", () => {
  it("split every status into active and terminal, in lifecycle order", () => {
    expect(ACTIVE_COMMAND_STATUSES).toEqual(["QUEUED", "SENT", "DELIVERED"]);
    expect(TERMINAL_COMMAND_STATUSES).toEqual(["SUCCEEDED", "FAILED", "TIMED_OUT", "EXPIRED", "CANCELED"]);
    expect([...ACTIVE_COMMAND_STATUSES, ...TERMINAL_COMMAND_STATUSES]).toEqual(COMMAND_STATUSES);
  });

  it("agree with the state machine: active ones have a way out, terminal ones none", () => {
    expect(COMMAND_STATUSES).toEqual(commandMachine.states);
    for (const status of ACTIVE_COMMAND_STATUSES) expect(isTerminalStatus(status)).toBe(false);
    for (const status of TERMINAL_COMMAND_STATUSES) {
      expect(commandMachine.events.map((event) => commandMachine.next(status, event))).toEqual(
        commandMachine.events.map(() => undefined),
      );
    }
  });
});
