import { checkLengths } from "./text-limits.js";
import type { Group } from "./types.js";

/** The group a creation makes: updatedAt = createdAt, description "" when not given. */
export function groupFromNew(input: {
  id: string;
  name: string;
  description?: string;
  createdAt: number;
}): Group {
  checkGroupPatch(input);
  return {
    id: input.id,
    name: input.name,
    description: input.description ?? "",
    createdAt: input.createdAt,
    updatedAt: input.createdAt,
  };
}

/** Refuses what no store keeps (see text-limits.ts), before any store is touched. */
export function checkGroupPatch(patch: { name?: string }): void {
  checkLengths("group", [["/name", patch.name]]);
}
