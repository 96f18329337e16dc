import { isTerminalStatus } from "@cloudedge/protocol";
import { CloudError, CloudErrorCode, NotFoundError } from "../errors.js";
import { toJson } from "../repos/json.js";
import type { CommandQuery, CommandRecord, Page } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { silentLogger } from "../util/logger.js";
import { BrokerLink } from "./broker-link.js";
import { CommandDeadlines } from "./command-deadlines.js";
import { CommandDelivery } from "./command-delivery.js";
import { CommandWaitTimeoutError, errorForCommand } from "./command-errors.js";
import { fanOut } from "./command-fan-out.js";
import { CommandLedger } from "./command-ledger.js";
import { CommandQuota } from "./command-quota.js";
import { type RecoveryCounts, recoverCommands } from "./command-recovery.js";
import { routeCommand } from "./command-routing.js";
import type { CommandBrokerOptions, FanOutItem, SendAndWaitOptions, SendOptions } from "./command-types.js";
import { MAX_COMMAND_TIMEOUT_MS, MAX_COMMAND_TTL_MS, validateCommand } from "./command-validation.js";
import { CommandWatchers, type Watch } from "./command-watchers.js";

/**
 * Command RPC (docs/protocol.md §6): persisted records walking the protocol's command
 * state machine, delivery to wherever the device is connected (through the ClusterBus),
 * QUEUED commands for offline devices with a TTL, redelivery after a lost session
 * (at-least-once; devices dedupe), deadlines and TTLs in one sweep, restart recovery.
 *
 * A facade: the ledger records and announces, delivery sends and takes acks and results,
 * deadlines sweep, watchers wait, and the link is all it knows of the hub and the bus.
 */
export class CommandBroker {
  private readonly clock: Clock;
  private readonly link: BrokerLink;
  private readonly ledger: CommandLedger;
  private readonly delivery: CommandDelivery;
  private readonly deadlines: CommandDeadlines;
  private readonly watchers: CommandWatchers;
  /** The per-device bound on unfinished commands; `quota.refused` counts refusals. */
  readonly quota: CommandQuota;
  private closed = false;

  constructor(private readonly options: CommandBrokerOptions) {
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger;
    const { commands } = options.store;
    this.clock = clock;
    this.link = new BrokerLink(options.hub, options.bus);
    this.ledger = new CommandLedger({
      commands,
      link: this.link,
      ids: options.ids,
      clock,
      onChange: (c) => this.changed(c),
      log: options.log,
    });
    this.delivery = new CommandDelivery(commands, this.ledger, this.link, clock, logger);
    this.watchers = new CommandWatchers(clock, (id) => this.ledger.get(id));
    this.quota = new CommandQuota(commands, options.quota, clock);
    this.deadlines = new CommandDeadlines(commands, this.ledger, clock, logger, {
      sweepMs: options.sweepMs ?? 1000,
      scanMs: options.scanMs ?? 30_000,
    });
    const { delivery } = this;
    this.link.attach({
      online: (session) => delivery.online(session),
      offline: (deviceId, sessionId) => delivery.offline(deviceId, sessionId),
      ack: (session, commandId) => delivery.ack(session, commandId),
      result: (session, pdu) => delivery.result(session, pdu),
      deliver: (session, request) => delivery.deliver(session, request),
      // Results recorded by other nodes wake waiters here (and end our tracking of them).
      command: (command) => {
        delivery.observed(command);
        if (isTerminalStatus(command.status)) this.ended(command);
      },
    });
  }

  /** A change this node made, before it is logged and announced. */
  private changed(command: CommandRecord): void {
    this.delivery.changed(command);
    if (isTerminalStatus(command.status)) this.ended(command);
    else this.deadlines.track(command);
  }

  private ended(command: CommandRecord): void {
    this.deadlines.track(command);
    this.watchers.settle(command);
    this.quota.ended(command);
  }

  /** Restart recovery (see `recoverCommands`); call once at start-up. */
  recover(): Promise<RecoveryCounts> {
    const { commands } = this.options.store;
    return recoverCommands(commands, this.ledger, this.link, this.clock, (c) => this.deadlines.track(c));
  }

  /** Creates a command and starts delivering it; resolves with the record at once. */
  send(deviceId: string, method: string, params: unknown, options: SendOptions = {}): Promise<CommandRecord> {
    return this.create(deviceId, method, params, options);
  }

  /**
   * Sends and waits: resolves with the command once terminal, or as it stands when
   * `waitMs` passes. Unlike `send` then `wait`, the outcome is watched from before the
   * command exists, so neither needs to read it back from the store.
   */
  async sendAndWait(
    deviceId: string,
    method: string,
    params: unknown,
    options: SendAndWaitOptions = {},
  ): Promise<CommandRecord> {
    let watch: Watch | undefined;
    let sent: CommandRecord;
    try {
      sent = await this.create(deviceId, method, params, options, (id) => {
        watch = this.watchers.watch(id);
      });
    } catch (error) {
      watch?.stop();
      throw error;
    }
    const w = watch as Watch;
    if (isTerminalStatus(sent.status)) w.done(sent);
    else w.arm(options.waitMs ?? (options.ttlMs ?? 0) + sent.timeoutMs + 1_000, sent);
    return w.outcome;
  }

  /**
   * Sends and waits, for callers that answer with the command (REST `wait`): resolves with
   * the command once it ended SUCCEEDED, FAILED, EXPIRED or CANCELED; rejects when no
   * outcome came in time — the TIMED_OUT command's CommandFailedError (504), or a
   * CommandWaitTimeoutError when the wait ended first.
   */
  async execute(
    deviceId: string,
    method: string,
    params: unknown,
    options: SendAndWaitOptions = {},
  ): Promise<CommandRecord> {
    const final = await this.sendAndWait(deviceId, method, params, options);
    if (!isTerminalStatus(final.status)) throw new CommandWaitTimeoutError(final);
    const error = errorForCommand(final);
    if (final.status === "TIMED_OUT" && error) throw error;
    return final;
  }

  /** Sends and waits for the outcome: the device's result data, or a CommandFailedError. */
  async call(deviceId: string, method: string, params: unknown, options: SendOptions = {}): Promise<unknown> {
    const final = await this.sendAndWait(deviceId, method, params, options);
    const error = errorForCommand(final);
    if (error) throw error;
    if (final.status !== "SUCCEEDED") throw new CommandWaitTimeoutError(final, "no outcome in time");
    return final.result;
  }

  private async create(
    deviceId: string,
    method: string,
    params: unknown,
    options: SendOptions,
    onId?: (commandId: string) => void,
  ): Promise<CommandRecord> {
    if (this.closed) throw new CloudError(CloudErrorCode.SHUTTING_DOWN, "the server is shutting down", 503);
    const timeoutMs = this.validate(method, params, options);
    const device = await this.options.store.devices.get(deviceId);
    if (!device) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    if (device.disabled) throw new CloudError(CloudErrorCode.DEVICE_DISABLED, "the device is disabled", 409);
    const release = await this.quota.reserve(deviceId, Buffer.byteLength(toJson(params ?? null)));
    let stored: CommandRecord | undefined;
    try {
      const { ttlMs, groupId, commandId } = options;
      const command = this.ledger.draft({ deviceId, method, params, timeoutMs, ttlMs, groupId, commandId });
      onId?.(command.id);
      stored = await routeCommand(command, this.ledger, this.link, (c) => this.deadlines.track(c));
      return stored;
    } finally {
      release(stored);
    }
  }

  /** Resolves with the command once terminal, or as it stands when `timeoutMs` passes. */
  async wait(commandId: string, timeoutMs: number): Promise<CommandRecord> {
    // Register before reading: an outcome recorded (on any node) while the read is in
    // flight must not slip between the read and the registration.
    const watch = this.watchers.watch(commandId);
    let current: CommandRecord;
    try {
      current = await this.ledger.get(commandId);
    } catch (error) {
      watch.stop();
      throw error;
    }
    if (isTerminalStatus(current.status)) watch.done(current);
    else watch.arm(timeoutMs, current);
    return watch.outcome;
  }

  /** The command; NotFoundError(command_not_found) when there is none. */
  get(commandId: string): Promise<CommandRecord>;
  /** The device's command: another device's is not found either (command_not_found). */
  get(deviceId: string, commandId: string): Promise<CommandRecord>;
  async get(first: string, second?: string): Promise<CommandRecord> {
    if (second === undefined) return this.ledger.get(first);
    const command = await this.ledger.get(second);
    if (command.deviceId !== first)
      throw new NotFoundError(CloudErrorCode.COMMAND_NOT_FOUND, "no such command");
    return command;
  }

  /** The device's commands, newest first; NotFoundError(device_not_found) for an unknown device. */
  async list(deviceId: string, query?: CommandQuery): Promise<Page<CommandRecord>> {
    if (!(await this.options.store.devices.get(deviceId)))
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    return this.options.store.commands.listByDevice(deviceId, query);
  }

  /** Cancels a command that is still QUEUED; later ones may already be running on the device. */
  cancel(commandId: string): Promise<CommandRecord>;
  /** Cancels the device's command (another device's is not found: command_not_found). */
  cancel(deviceId: string, commandId: string): Promise<CommandRecord>;
  async cancel(first: string, second?: string): Promise<CommandRecord> {
    for (;;) {
      const command = second === undefined ? await this.get(first) : await this.get(first, second);
      if (command.status !== "QUEUED") {
        throw new CloudError(
          CloudErrorCode.NOT_CANCELABLE,
          `a ${command.status} command cannot be canceled`,
          409,
          true,
          {
            commandStatus: command.status,
          },
        );
      }
      const canceled = await this.ledger.move(command, "cancel");
      if (canceled) return canceled;
      // It moved meanwhile: answer for its new status.
    }
  }

  /** Sends to every member of a group, at most `concurrency` at a time; one entry per device. */
  async fanOut(
    groupId: string,
    method: string,
    params: unknown,
    options: SendOptions & { concurrency?: number } = {},
  ): Promise<FanOutItem[]> {
    // Once, before any member: a bad command is one 400, not one error per device.
    this.validate(method, params, options);
    return fanOut(
      this.options.store.groups,
      groupId,
      (deviceId, o) => this.send(deviceId, method, params, o),
      options,
    );
  }

  /** Throws ValidationError / DocumentLimitError unless the command can be sent; its timeoutMs. */
  validate(method: string, params: unknown, options: SendOptions): number {
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs ?? 30_000;
    validateCommand(method, params, timeoutMs, options.ttlMs, {
      maxTimeoutMs: this.options.maxTimeoutMs ?? MAX_COMMAND_TIMEOUT_MS,
      maxTtlMs: this.options.maxTtlMs ?? MAX_COMMAND_TTL_MS,
      limits: this.link.limits,
      documents: this.link.documentLimits,
    });
    return timeoutMs;
  }

  /**
   * Asks whichever node holds the device to send it its QUEUED commands now: for a command
   * whose creator died before its delivery request reached the holder (the job engine asks
   * this for executions left QUEUED a poll period). Resolves false when no node holds the device.
   */
  async redeliver(deviceId: string): Promise<boolean> {
    const reply = await this.link.deliver(deviceId).catch(() => "no_responders" as const);
    return reply !== "no_responders";
  }

  /** Deadlines of sent commands and TTLs of queued ones, for everything this node tracks. */
  sweep(): Promise<void> {
    return this.deadlines.sweep();
  }

  /** The store scan for overdue commands of every node (see CommandDeadlines.scan); how many it ended. */
  scan(): Promise<number> {
    return this.deadlines.scan();
  }

  /** Stops the sweep; pending waiters resolve as their timers fire. */
  close(): void {
    this.closed = true;
    this.deadlines.close();
    this.link.close();
  }
}
