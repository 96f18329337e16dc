/**
 * The command statuses as lists, derived from the command state machine so that every
 * place that spells them out (repositories, REST schema, console) agrees with it
 * (docs/protocol.md §6.1). Importable alone as `@cloudedge/protocol/command-status`: small,
 * for UIs.
 */
import { COMMAND_STATUSES, type CommandStatus, commandMachine } from "./machines/command.js";

export { COMMAND_STATUSES, type CommandStatus };

/** Statuses a command can still leave: QUEUED, SENT, DELIVERED (recovery and sweeps look at these). */
export const ACTIVE_COMMAND_STATUSES: readonly CommandStatus[] = COMMAND_STATUSES.filter(
  (status) => !commandMachine.isTerminal(status),
);

/** Statuses no event leaves: SUCCEEDED, FAILED, TIMED_OUT, EXPIRED, CANCELED. */
export const TERMINAL_COMMAND_STATUSES: readonly CommandStatus[] = COMMAND_STATUSES.filter((status) =>
  commandMachine.isTerminal(status),
);
