import { ACTIVE_COMMAND_STATUSES, TERMINAL_COMMAND_STATUSES } from "@cloudedge/protocol/command-status";
import type { Command } from "../api/types";

const OK: ReadonlySet<string> = new Set(["SUCCEEDED"]);
const BAD: ReadonlySet<string> = new Set(TERMINAL_COMMAND_STATUSES.filter((status) => !OK.has(status)));

export function StatusBadge({ status }: { status: string }) {
  const tone = OK.has(status) ? "ok" : BAD.has(status) ? "bad" : "pending";
  return (
    <span class={`badge ${tone}`} data-status={status}>
      {status}
    </span>
  );
}

const PATH: readonly string[] = ACTIVE_COMMAND_STATUSES;

/** QUEUED → SENT → DELIVERED → outcome, with the steps this command has passed marked. */
export function Lifecycle({ command, seen }: { command: Command; seen: string[] }) {
  const final = PATH.includes(command.status) ? undefined : command.status;
  const reached = PATH.indexOf(command.status);
  return (
    <ol class="lifecycle" aria-label="Command lifecycle">
      {PATH.map((step, i) => (
        <li key={step} class={seen.includes(step) || (final ? true : i <= reached) ? "done" : undefined}>
          {step}
        </li>
      ))}
      <li class={final ? (OK.has(final) ? "done ok" : "done bad") : undefined}>{final ?? "…"}</li>
    </ol>
  );
}
