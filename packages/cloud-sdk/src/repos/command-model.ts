import { jsonClone } from "./json.js";
import type { CommandRecord } from "./types.js";

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
  "acknowledgedAt",
  "groupId",
  "updatedAt",
] as const satisfies ReadonlyArray<keyof CommandPatch>;

export type CommandPatchField = (typeof COMMAND_PATCH_FIELDS)[number];

/** The fields a patch sets: keys present with a defined value (undefined means "leave as is"). */
export function patchedFields(patch: CommandPatch): CommandPatchField[] {
  return COMMAND_PATCH_FIELDS.filter((field) => patch[field] !== undefined);
}

/** `record` with the patch applied (values deep-copied, as a store round trip would). */
export function applyCommandPatch(record: CommandRecord, patch: CommandPatch): CommandRecord {
  const next: Record<string, unknown> = { ...record };
  for (const field of patchedFields(patch)) next[field] = jsonClone(patch[field]);
  return next as unknown as CommandRecord;
}

/**
 * Whether `stored` is still the version `basis` was read at: commands change only through
 * transitions, and each one stamps `updatedAt` (and a redelivery bumps `attempts`), so a
 * command that left a status and came back to it does not match a basis read before.
 */
export function sameVersion(stored: CommandRecord, basis: CommandRecord): boolean {
  return stored.attempts === basis.attempts && stored.updatedAt === basis.updatedAt;
}
