import { describe, expect, it } from "vitest";
import {
  COMMAND_STATUSES,
  type CommandEvent,
  type CommandStatus,
  type ConnectionEvent,
  type ConnectionState,
  commandMachine,
  commandTransition,
  connectionMachine,
  connectionTransition,
  IllegalTransitionError,
  isTerminalStatus,
} from "../src/index.js";

// The complete legal tables, written out independently of the source: every pair not
// listed here must be rejected.
const CONNECTION_LEGAL: Array<[ConnectionState, ConnectionEvent, ConnectionState]> = [
  ["idle", "connect", "connecting"],
  ["idle", "stop", "closed"],
  ["connecting", "open", "authenticating"],
  ["connecting", "disconnect", "backoff"],
  ["connecting", "stop", "closed"],
  ["authenticating", "welcome", "online"],
  ["authenticating", "disconnect", "backoff"],
  ["authenticating", "stop", "closed"],
  ["online", "disconnect", "backoff"],
  ["online", "stop", "closed"],
  ["backoff", "retry", "connecting"],
  ["backoff", "stop", "closed"],
];

const COMMAND_LEGAL: Array<[CommandStatus, CommandEvent, CommandStatus]> = [
  ["QUEUED", "send", "SENT"],
  ["QUEUED", "expire", "EXPIRED"],
  ["QUEUED", "cancel", "CANCELED"],
  ["QUEUED", "timeout", "TIMED_OUT"],
  ["QUEUED", "succeed", "SUCCEEDED"],
  ["QUEUED", "fail", "FAILED"],
  ["SENT", "ack", "DELIVERED"],
  ["SENT", "succeed", "SUCCEEDED"],
  ["SENT", "fail", "FAILED"],
  ["SENT", "timeout", "TIMED_OUT"],
  ["SENT", "requeue", "QUEUED"],
  ["DELIVERED", "succeed", "SUCCEEDED"],
  ["DELIVERED", "fail", "FAILED"],
  ["DELIVERED", "timeout", "TIMED_OUT"],
  ["DELIVERED", "requeue", "QUEUED"],
];

function illegalPairs<S extends string, E extends string>(
  states: readonly S[],
  events: readonly E[],
  legal: Array<[S, E, S]>,
): Array<[S, E]> {
  const ok = new Set(legal.map(([s, e]) => `${s}/${e}`));
  return states.flatMap((s) => events.filter((e) => !ok.has(`${s}/${e}`)).map((e): [S, E] => [s, e]));
}

describe("connection state machine", () => {
  it.each(CONNECTION_LEGAL)("%s --%s--> %s", (from, event, to) => {
    expect(connectionTransition(from, event)).toBe(to);
  });

  const illegal = illegalPairs(connectionMachine.states, connectionMachine.events, CONNECTION_LEGAL);
  it("has 36 state/event pairs: 12 legal, 24 illegal", () => {
    expect(connectionMachine.states.length * connectionMachine.events.length).toBe(36);
    expect(illegal).toHaveLength(24);
  });
  it.each(illegal)("%s --%s--> rejected", (from, event) => {
    expect(() => connectionTransition(from, event)).toThrowError(IllegalTransitionError);
    expect(connectionMachine.next(from, event)).toBeUndefined();
    try {
      connectionTransition(from, event);
    } catch (error) {
      expect(error).toMatchObject({ code: "illegal_transition", machine: "connection", from, event });
    }
  });
  it("closed is the only terminal state", () => {
    expect(connectionMachine.states.filter((s) => connectionMachine.isTerminal(s))).toEqual(["closed"]);
  });
});

describe("command state machine", () => {
  it.each(COMMAND_LEGAL)("%s --%s--> %s", (from, event, to) => {
    expect(commandTransition(from, event)).toBe(to);
  });

  const illegal = illegalPairs(COMMAND_STATUSES, commandMachine.events, COMMAND_LEGAL);
  it("has 64 status/event pairs: 15 legal, 49 illegal", () => {
    expect(COMMAND_STATUSES.length * commandMachine.events.length).toBe(64);
    expect(illegal).toHaveLength(49);
  });
  it.each(illegal)("%s --%s--> rejected", (from, event) => {
    expect(() => commandTransition(from, event)).toThrowError(IllegalTransitionError);
  });
  it("terminal statuses are exactly SUCCEEDED FAILED TIMED_OUT EXPIRED CANCELED", () => {
    expect(COMMAND_STATUSES.filter(isTerminalStatus)).toEqual([
      "SUCCEEDED",
      "FAILED",
      "TIMED_OUT",
      "EXPIRED",
      "CANCELED",
    ]);
  });
  it("rejects unknown states and events", () => {
    expect(() => commandTransition("NOPE" as CommandStatus, "send")).toThrowError(IllegalTransitionError);
    expect(() => commandTransition("QUEUED", "toString" as CommandEvent)).toThrowError(
      IllegalTransitionError,
    );
  });
});
