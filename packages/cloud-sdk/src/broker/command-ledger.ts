import { type CommandEvent, commandMachine } from "@cloudedge/protocol";
import { CloudErrorCode, ConflictError, NotFoundError } from "../errors.js";
import type { EventLogAppend } from "../event-log/event-log-writer.js";
import type { CommandPatch } from "../repos/command-model.js";
import type { CommandRecord, CommandRepository } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import type { BrokerLink } from "./broker-link.js";

/** The fields a broker event may set besides the status. */
export type MovePatch = Partial<
  Pick<CommandRecord, "result" | "error" | "deadline" | "attempts" | "acknowledgedAt">
>;

/** What a new command is made of. */
export interface CommandDraft {
  deviceId: string;
  method: string;
  params: unknown;
  timeoutMs: number;
  ttlMs?: number | undefined;
  groupId?: string | undefined;
  /** A caller-chosen id (see SendOptions.commandId); generated when absent. */
  commandId?: string | undefined;
}

/**
 * The change `event` makes to `command`: the status commandMachine leads to (§6.1) with
 * `patch`, stamped `now`; undefined when the machine does not allow the event. Every status
 * a command takes after QUEUED comes from here.
 */
export function step(
  command: CommandRecord,
  event: CommandEvent,
  patch: MovePatch,
  now: number,
): (CommandPatch & Pick<CommandRecord, "status">) | undefined {
  const status = commandMachine.next(command.status, event);
  return status === undefined ? undefined : { ...patch, status, updatedAt: now };
}

/** What the ledger works with. */
export interface LedgerParts {
  commands: CommandRepository;
  link: BrokerLink;
  ids: IdGenerator;
  clock: Clock;
  /** This node's bookkeeping of a change it made, before the change is logged and announced. */
  onChange: (command: CommandRecord) => void;
  /** Appends to the device's event log. */
  log?: EventLogAppend | undefined;
}

/**
 * The command records: creating, storing and moving them through the state machine with a
 * compare-and-set, and announcing every change (the device's event log, every node through
 * the bus, and `onChange` for this node's own bookkeeping).
 */
export class CommandLedger {
  private readonly commands: CommandRepository;

  constructor(private readonly parts: LedgerParts) {
    this.commands = parts.commands;
  }

  /** A new QUEUED command, not stored yet. */
  draft(input: CommandDraft): CommandRecord {
    const now = this.parts.clock.now();
    return {
      id: input.commandId ?? this.parts.ids(),
      deviceId: input.deviceId,
      method: input.method,
      params: input.params ?? null,
      status: "QUEUED",
      result: null,
      error: null,
      timeoutMs: input.timeoutMs,
      expiresAt: input.ttlMs !== undefined ? now + input.ttlMs : null,
      deadline: null,
      attempts: 0,
      acknowledgedAt: null,
      groupId: input.groupId ?? null,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** The stored command, if any. */
  find(commandId: string): Promise<CommandRecord | undefined> {
    return this.commands.get(commandId);
  }

  /** The stored command; NotFoundError(command_not_found) when there is none. */
  async get(commandId: string): Promise<CommandRecord> {
    const command = await this.commands.get(commandId);
    if (!command) throw new NotFoundError(CloudErrorCode.COMMAND_NOT_FOUND, "no such command");
    return command;
  }

  /**
   * Stores a new command as QUEUED and announces it; if its id is stored already (another
   * node stored it meanwhile), returns that version instead.
   */
  async store(command: CommandRecord): Promise<CommandRecord> {
    try {
      await this.commands.create(command);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return (await this.commands.get(command.id)) ?? command;
    }
    this.changed(command);
    return command;
  }

  /**
   * Stores a command never stored yet directly as `event` leaves it: one write where storing
   * it QUEUED and then moving it took two; announced as both changes. Undefined when the
   * machine does not allow the event (nothing stored); ConflictError when the id is stored.
   */
  async storeMoved(
    created: CommandRecord,
    event: CommandEvent,
    patch: MovePatch,
  ): Promise<CommandRecord | undefined> {
    const change = step(created, event, patch, this.parts.clock.now());
    if (!change) return undefined;
    const moved: CommandRecord = { ...created, ...change };
    await this.commands.create(moved);
    this.changed(created);
    this.changed(moved);
    return moved;
  }

  /**
   * Applies one state-machine event with a compare-and-set on the stored status; returns
   * the new record, or undefined when the command had moved on (another node, a race) or
   * the machine does not allow the event.
   */
  async move(
    command: CommandRecord,
    event: CommandEvent,
    patch: MovePatch = {},
  ): Promise<CommandRecord | undefined> {
    const change = step(command, event, patch, this.parts.clock.now());
    if (!change) return undefined;
    // `command` as the basis: exact compare-and-set on the version read (a command that
    // came back to this status meanwhile is left alone), and no read-back on MySQL.
    const updated = await this.commands.transition(command.id, command.status, change, command);
    if (!updated) return undefined;
    this.changed(updated);
    return updated;
  }

  private changed(command: CommandRecord): void {
    this.parts.onChange(command);
    this.parts.log?.(
      command.deviceId,
      "command",
      command.status,
      { commandId: command.id, method: command.method },
      command.updatedAt,
    );
    this.parts.link.publish(command);
  }
}
