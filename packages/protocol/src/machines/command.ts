import { defineMachine } from "./machine.js";

/** Command lifecycle statuses (docs/protocol.md §6.1). */
export const CommandStatus = {
  QUEUED: "QUEUED",
  SENT: "SENT",
  DELIVERED: "DELIVERED",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  TIMED_OUT: "TIMED_OUT",
  EXPIRED: "EXPIRED",
  CANCELED: "CANCELED",
} as const;
export type CommandStatus = (typeof CommandStatus)[keyof typeof CommandStatus];

/**
 * Events: `send` (cmd written to the socket), `ack` (device ack), `succeed` / `fail`
 * (result ok / not ok, or the hub fails it), `timeout` (deadline passed), `expire` (TTL
 * passed while queued), `cancel` (operator), `requeue` (session lost before the result:
 * redeliver at least once, the device dedupes).
 */
export type CommandEvent = "send" | "ack" | "succeed" | "fail" | "timeout" | "expire" | "cancel" | "requeue";

/** Every command status, in lifecycle order (see also `command-status.ts`). */
export const COMMAND_STATUSES: readonly CommandStatus[] = Object.values(CommandStatus);

export const commandMachine = defineMachine<CommandStatus, CommandEvent>(
  "command",
  COMMAND_STATUSES,
  ["send", "ack", "succeed", "fail", "timeout", "expire", "cancel", "requeue"],
  {
    // succeed/fail from QUEUED: a requeued command's result arrives (from the device's
    // outbox) before it was resent — the result proves it ran. fail also covers the hub
    // giving up (device deleted). timeout: a requeued command whose deadline passed.
    QUEUED: {
      send: "SENT",
      expire: "EXPIRED",
      cancel: "CANCELED",
      timeout: "TIMED_OUT",
      succeed: "SUCCEEDED",
      fail: "FAILED",
    },
    // A result may overtake a lost ack: it proves delivery, so SENT → SUCCEEDED/FAILED is legal.
    // No cancel once SENT: the device may already be running it.
    SENT: { ack: "DELIVERED", succeed: "SUCCEEDED", fail: "FAILED", timeout: "TIMED_OUT", requeue: "QUEUED" },
    DELIVERED: { succeed: "SUCCEEDED", fail: "FAILED", timeout: "TIMED_OUT", requeue: "QUEUED" },
    SUCCEEDED: {},
    FAILED: {},
    TIMED_OUT: {},
    EXPIRED: {},
    CANCELED: {},
  },
);

/** `commandMachine.transition`: the next command status, or throws IllegalTransitionError. */
export function commandTransition(status: CommandStatus, event: CommandEvent): CommandStatus {
  return commandMachine.transition(status, event);
}

/** True for SUCCEEDED, FAILED, TIMED_OUT, EXPIRED and CANCELED. */
export function isTerminalStatus(status: CommandStatus): boolean {
  return commandMachine.isTerminal(status);
}
