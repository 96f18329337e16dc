import { ACTIVE_COMMAND_STATUSES, type CommandStatus, TERMINAL_COMMAND_STATUSES } from "@cloudedge/protocol";
import { CloudErrorCode, ConflictError, NotFoundError } from "../../errors.js";
import { applyCommandPatch, type CommandPatch, sameVersion } from "../command-model.js";
import { compareIds, requireId } from "../ids.js";
import { jsonClone, toJson } from "../json.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import type { CommandLoad, CommandQuery, CommandRecord, CommandRepository, Page } from "../types.js";
import type { MemoryTables } from "./memory-tables.js";

/** Commands in a Map; ids are Snowflakes, so id order is creation order. */
export class MemoryCommandRepository implements CommandRepository {
  constructor(private readonly t: MemoryTables) {}

  async create(command: CommandRecord): Promise<void> {
    this.t.assertOpen();
    requireId(command.id);
    if (command.groupId !== null) requireId(command.groupId, "groupId");
    if (!this.t.devices.has(command.deviceId))
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
    if (this.t.commands.has(command.id))
      throw new ConflictError(CloudErrorCode.CONFLICT, "command id is taken");
    this.t.commands.set(command.id, normalizeCommand(command));
    const ids = this.t.commandsByDevice.get(command.deviceId) ?? new Set<string>();
    ids.add(command.id);
    this.t.commandsByDevice.set(command.deviceId, ids);
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    this.t.assertOpen();
    const command = this.t.commands.get(id);
    return command && jsonClone(command);
  }

  async transition(
    id: string,
    expected: CommandStatus,
    patch: CommandPatch,
    basis?: CommandRecord,
  ): Promise<CommandRecord | undefined> {
    this.t.assertOpen();
    if (patch.groupId !== undefined && patch.groupId !== null) requireId(patch.groupId, "groupId");
    const command = this.t.commands.get(id);
    if (!command || command.status !== expected) return undefined;
    if (basis && !sameVersion(command, basis)) return undefined;
    const updated = applyCommandPatch(command, patch);
    this.t.commands.set(id, updated);
    return jsonClone(updated);
  }

  async listByDevice(deviceId: string, query: CommandQuery = {}): Promise<Page<CommandRecord>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const statuses = query.status && query.status.length > 0 ? new Set(query.status) : undefined;
    const commands = this.ofDevice(deviceId)
      .filter((c) => after === undefined || BigInt(c.id) < after)
      .filter((c) => statuses === undefined || statuses.has(c.status))
      .sort((a, b) => compareIds(b.id, a.id))
      .slice(0, limit + 1)
      .map((c) => jsonClone(c));
    return toPage(commands, limit, (c) => c.id);
  }

  async listQueued(deviceId: string): Promise<CommandRecord[]> {
    this.t.assertOpen();
    return this.ofDevice(deviceId)
      .filter((c) => c.status === "QUEUED")
      .sort((a, b) => compareIds(a.id, b.id))
      .map((c) => jsonClone(c));
  }

  async activeLoad(deviceId: string): Promise<CommandLoad> {
    this.t.assertOpen();
    const active = this.ofDevice(deviceId).filter((c) => ACTIVE_COMMAND_STATUSES.includes(c.status));
    const bytes = active.reduce((sum, c) => sum + Buffer.byteLength(toJson(c.params)), 0);
    return { count: active.length, bytes };
  }

  async listNonTerminal(): Promise<CommandRecord[]> {
    this.t.assertOpen();
    return [...this.t.commands.values()]
      .filter((c) => ACTIVE_COMMAND_STATUSES.includes(c.status))
      .sort((a, b) => compareIds(a.id, b.id))
      .map((c) => jsonClone(c));
  }

  async deleteFinishedBefore(before: number): Promise<number> {
    this.t.assertOpen();
    let deleted = 0;
    for (const [id, command] of this.t.commands) {
      if (TERMINAL_COMMAND_STATUSES.includes(command.status) && command.updatedAt < before) {
        this.t.commands.delete(id);
        this.t.commandsByDevice.get(command.deviceId)?.delete(id);
        deleted += 1;
      }
    }
    return deleted;
  }

  private ofDevice(deviceId: string): CommandRecord[] {
    const out: CommandRecord[] = [];
    for (const id of this.t.commandsByDevice.get(deviceId) ?? []) {
      const command = this.t.commands.get(id);
      if (command) out.push(command);
    }
    return out;
  }
}

/** Every field present with a JSON value, exactly as a SQL row reads back (undefined → null). */
function normalizeCommand(c: CommandRecord): CommandRecord {
  return {
    id: c.id,
    deviceId: c.deviceId,
    method: c.method,
    params: jsonClone(c.params),
    status: c.status,
    result: jsonClone(c.result),
    error: c.error ? jsonClone(c.error) : null,
    timeoutMs: c.timeoutMs,
    expiresAt: c.expiresAt ?? null,
    deadline: c.deadline ?? null,
    attempts: c.attempts,
    acknowledgedAt: c.acknowledgedAt ?? null,
    groupId: c.groupId ?? null,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}
