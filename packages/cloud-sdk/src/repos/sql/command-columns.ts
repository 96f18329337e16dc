import { type CommandPatch, type CommandPatchField, patchedFields } from "../command-model.js";
import { requireId } from "../ids.js";
import { toJson } from "../json.js";
import type { CommandRecord } from "../types.js";
import type { SqlParam } from "./rows.js";

const COLUMN: Record<CommandPatchField, string> = {
  method: "method",
  params: "params",
  status: "status",
  result: "result",
  error: "error",
  timeoutMs: "timeout_ms",
  expiresAt: "expires_at",
  deadline: "deadline",
  attempts: "attempts",
  acknowledgedAt: "acknowledged_at",
  groupId: "group_id",
  updatedAt: "updated_at",
};

/** Insert column list of the commands table, matching commandValues(). */
export const COMMAND_INSERT_COLUMNS =
  "id, device_id, method, params, status, result, error, timeout_ms, expires_at, deadline, attempts, acknowledged_at, group_id, created_at, updated_at";

/** Bind values of a new command (ids as bigint, JSON as text). */
export function commandValues(c: CommandRecord, deviceId: bigint): SqlParam[] {
  return [
    requireId(c.id),
    deviceId,
    c.method,
    toJson(c.params),
    c.status,
    toJson(c.result),
    c.error ? toJson(c.error) : null,
    c.timeoutMs,
    c.expiresAt ?? null,
    c.deadline ?? null,
    c.attempts,
    c.acknowledgedAt ?? null,
    c.groupId === null || c.groupId === undefined ? null : requireId(c.groupId, "groupId"),
    c.createdAt,
    c.updatedAt,
  ];
}

/** `SET` assignments and their values for a transition patch; the SQL text depends only on which fields are set. */
export function commandAssignments(patch: CommandPatch): { assignments: string; values: SqlParam[] } {
  const fields = patchedFields(patch);
  const values = fields.map((field): SqlParam => {
    switch (field) {
      case "params":
      case "result":
        return toJson(patch[field]);
      case "error":
        return patch.error ? toJson(patch.error) : null;
      case "groupId":
        return patch.groupId ? requireId(patch.groupId, "groupId") : null;
      default:
        return patch[field] ?? null;
    }
  });
  return { assignments: fields.map((f) => `${COLUMN[f]} = ?`).join(", "), values };
}
