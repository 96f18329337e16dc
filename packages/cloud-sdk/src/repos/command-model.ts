import type { CommandStatus } from "@cloudedge/protocol";
import type { CommandRecord } from "./types.js";

/** Statuses a command can still leave (restart recovery and sweeps look at these). */
export const NON_TERMINAL_STATUSES: readonly CommandStatus[] = ["QUEUED", "SENT", "DELIVERED"];

/** Statuses retention may delete. */
export const TERMINAL_STATUSES: readonly CommandStatus[] = [
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "EXPIRED",
  "CANCELED",
];

/** What CommandRepository.transition may change. */
export type CommandPatch = Partial<Omit<CommandRecord, "id" | "deviceId" | "createdAt">> & {
  updatedAt: number;
};

/** The patchable fields in a fixed order, so the SQL a patch produces is stable (and its statement cached). */
export const COMMAND_PATCH_FIELDS = [
  "method",
  "params",
  "status",
  "result",
  "error",
  "timeoutMs",
  "expiresAt",
  "deadline",
  "attempts",
  "groupId",
  "updatedAt",
] as const satisfies ReadonlyArray<keyof CommandPatch>;

export type CommandPatchField = (typeof COMMAND_PATCH_FIELDS)[number];

/** The fields a patch sets: keys present with a defined value (undefined means "leave as is"). */
export function patchedFields(patch: CommandPatch): CommandPatchField[] {
  return COMMAND_PATCH_FIELDS.filter((field) => patch[field] !== undefined);
}
