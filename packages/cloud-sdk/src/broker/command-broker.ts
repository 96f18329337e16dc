import {
  type CommandStatus,
  commandMachine,
  ErrorCode,
  encode,
  isTerminalStatus,
  type CommandEvent as MachineEvent,
  type ResultPdu,
} from "@cloudedge/protocol";
import type { BusReply, BusRequest, ClusterBus } from "../cluster/cluster-bus.js";
import { CloudError, CloudErrorCode, ConflictError, NotFoundError, ValidationError } from "../errors.js";
import type { EventLogAppend } from "../event-log/event-log-writer.js";
import type { CloudEvent } from "../events.js";
import type { DeviceHub } from "../hub/device-hub.js";
import type { Session } from "../hub/session.js";
import type { CommandError, CommandQuery, CommandRecord, Page, Store } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import { KeyedQueue } from "../util/keyed-queue.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { CommandFailedError, errorForCommand } from "./command-errors.js";

export interface SendOptions {
  /** How long the device has, from the first sending, to answer. Default 30 s. */
  timeoutMs?: number;
  /** How long the command may wait QUEUED for an offline device; without it, offline fails at once. */
  ttlMs?: number;
  /** Set by group fan-out. */
  groupId?: string;
}

export interface SendAndWaitOptions extends SendOptions {
  /** How long to wait for the outcome. Default: ttlMs + timeoutMs + 1 s. */
  waitMs?: number;
}

export interface FanOutItem {
  deviceId: string;
  commandId?: string;
  status?: CommandStatus;
  error?: { code: string; message: string };
}

export interface CommandBrokerOptions {
  store: Store;
  hub: DeviceHub;
  bus: ClusterBus;
  ids: IdGenerator;
  clock?: Clock;
  logger?: Logger;
  /** Appends to the device's event log. */
  log?: EventLogAppend;
  defaultTimeoutMs?: number;
  /** Upper bound for timeoutMs and ttlMs. Default 24 h / 30 days. */
  maxTimeoutMs?: number;
  maxTtlMs?: number;
  /** Deadline and TTL sweep period. Default 1 s. */
  sweepMs?: number;
  /**
   * Period of the store scan for overdue non-terminal commands, whichever node they were
   * created or sent on (in a cluster the node that sent a command may have died). Default 30 s.
   */
  scanMs?: number;
}

type Tracked = { deviceId: string; deadline: number | null; expiresAt: number | null };
/**
 * A command sent on one of this node's sessions; `record` is its latest stored version as this
 * node wrote it, so the device's ack and result need no read first (a stale one fails the
 * compare-and-set and is read again).
 */
type InFlight = { deviceId: string; sessionId: string; attempts: number; record: CommandRecord };
/**
 * A listing of a device's queue made on one of this node's sessions; `complete` once every
 * command it found was sent (or ended) and nothing was requeued for the device since, so the
 * queue holds only what was created after it — each of which its creator names in its
 * `deliver` request.
 */
type Drained = { sessionId: string; complete: boolean };
type DeliverRequest = Omit<Extract<BusRequest, { kind: "deliver" }>, "kind">;
/** Someone waiting for a command's outcome. */
type Watch = {
  outcome: Promise<CommandRecord>;
  done(command: CommandRecord): void;
  /** After `timeoutMs`, resolves with the stored version (or `fallback` if it cannot be read). */
  arm(timeoutMs: number, fallback: CommandRecord): void;
  stop(): void;
};

/**
 * Command RPC (docs/protocol.md §6): persisted records walking the protocol's command
 * state machine, delivery to wherever the device is connected (through the ClusterBus),
 * QUEUED commands for offline devices with a TTL, redelivery after a lost session
 * (at-least-once; devices dedupe), deadlines and TTLs in one sweep, restart recovery.
 */
export class CommandBroker {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly perDevice = new KeyedQueue();
  /** Non-terminal commands this node knows of, for the deadline/TTL sweep. */
  private readonly tracked = new Map<string, Tracked>();
  /** Commands sent on this node's sessions and not yet answered, to requeue when the session ends. */
  private readonly inFlight = new Map<string, InFlight>();
  private readonly waiters = new Map<string, Set<(command: CommandRecord) => void>>();
  /** Acks received and not yet being written ("sessionId commandId"); a result drops its ack's. */
  private readonly acking = new Set<string>();
  /** Per device held here: the last listing of its queue (see Drained). */
  private readonly drained = new Map<string, Drained>();
  private readonly timer: unknown;
  private readonly scanTimer: unknown;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly options: CommandBrokerOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    const { hub, bus } = options;
    // Taking over an older session's sendings matters only where that session may have been
    // on another node (a cluster bus has presence); on one node `recover()` and
    // `requeueInFlight` already cover it.
    hub.on("online", (session) => void this.flush(session, bus.presence.shared));
    hub.on("presence", (event) => {
      if (event.online) return;
      if (this.drained.get(event.deviceId)?.sessionId === event.sessionId)
        this.drained.delete(event.deviceId);
      void this.requeueInFlight(event.deviceId, event.sessionId);
    });
    // Acks and results of one device are handled in arrival order: a result racing its own
    // ack would otherwise lose the compare-and-set and be dropped. A result that arrives
    // before its ack's write has begun (typically in the same read, for a quick method)
    // makes that write moot: the command goes SENT → outcome in one write (§6.1).
    hub.on("pdu", (session, pdu) => {
      if (pdu.type === "ack") {
        const key = `${session.id} ${pdu.id}`;
        this.acking.add(key);
        void this.perDevice.run(session.deviceId, () =>
          this.acking.delete(key) ? this.onAck(session, pdu.id) : Promise.resolve(),
        );
      } else if (pdu.type === "result") {
        this.acking.delete(`${session.id} ${pdu.id}`);
        void this.perDevice.run(session.deviceId, () => this.onResult(session, pdu));
      }
    });
    hub.serve("deliver", (session, request) => this.flush(session, false, request));
    // Results recorded by other nodes wake waiters here (and end our tracking of them); a
    // command requeued anywhere (this node's own changes come through here too, at once)
    // means its device's queue must be listed again.
    this.unsubscribe = bus.subscribe((event) => {
      if (event.type !== "command") return;
      if (isTerminalStatus(event.command.status)) {
        this.tracked.delete(event.command.id);
        this.inFlight.delete(event.command.id);
        this.settle(event.command);
      } else if (event.command.status === "QUEUED" && event.command.attempts > 0) {
        this.drained.delete(event.command.deviceId);
      }
    });
    this.timer = this.clock.setInterval(() => void this.sweep(), options.sweepMs ?? 1000);
    this.scanTimer = this.clock.setInterval(() => void this.scan(), options.scanMs ?? 30_000);
  }

  /**
   * Restart recovery: commands left SENT/DELIVERED by a previous run are re-queued (the
   * device dedupes the redelivery) unless their deadline passed (TIMED_OUT); QUEUED ones
   * past their TTL become EXPIRED. Nothing stays stuck.
   */
  async recover(): Promise<{ requeued: number; timedOut: number; expired: number }> {
    const counts = { requeued: 0, timedOut: 0, expired: 0 };
    const now = this.clock.now();
    const held = this.heldElsewhere();
    const requeued = new Set<string>();
    for (const command of await this.options.store.commands.listNonTerminal()) {
      if (command.deadline !== null && command.deadline <= now) {
        if (await this.move(command, "timeout", { error: timeoutError(command.status) })) counts.timedOut++;
      } else if (
        command.status === "QUEUED" &&
        command.attempts === 0 &&
        command.expiresAt !== null &&
        command.expiresAt <= now
      ) {
        if (await this.move(command, "expire", {})) counts.expired++;
      } else if (command.status !== "QUEUED") {
        // In a cluster, a device held by a live node is in that node's hands (its session
        // requeues what it loses, a new session takes over what an old one left).
        if (await held(command.deviceId)) continue;
        if (await this.move(command, "requeue", {})) {
          counts.requeued++;
          requeued.add(command.deviceId);
        }
      } else {
        this.track(command);
      }
    }
    // Should a node hold one of these devices after all (presence lagging), it lists again.
    for (const deviceId of requeued)
      void this.options.bus.request(deviceId, { kind: "deliver" }).catch(() => undefined);
    return counts;
  }

  /** Whether a device is held by some live node of the cluster (never, on a bus without presence). */
  private heldElsewhere(): (deviceId: string) => Promise<boolean> {
    const { bus } = this.options;
    const cache = new Map<string, Promise<boolean>>();
    return (deviceId) => {
      if (!bus.presence.shared) return Promise.resolve(false);
      let answer = cache.get(deviceId);
      if (!answer) {
        answer = bus.presence.locate(deviceId).then((node) => node !== undefined);
        cache.set(deviceId, answer);
      }
      return answer;
    };
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
        watch = this.watch(id);
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

  private async create(
    deviceId: string,
    method: string,
    params: unknown,
    options: SendOptions,
    onId?: (commandId: string) => void,
  ): Promise<CommandRecord> {
    if (this.closed) throw new CloudError(CloudErrorCode.SHUTTING_DOWN, "the server is shutting down", 503);
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs ?? 30_000;
    this.validate(method, params, timeoutMs, options.ttlMs);
    const device = await this.options.store.devices.get(deviceId);
    if (!device) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    if (device.disabled) throw new CloudError(CloudErrorCode.DEVICE_DISABLED, "the device is disabled", 409);

    const now = this.clock.now();
    const command: CommandRecord = {
      id: this.options.ids(),
      deviceId,
      method,
      params: params ?? null,
      status: "QUEUED",
      result: null,
      error: null,
      timeoutMs,
      expiresAt: options.ttlMs !== undefined ? now + options.ttlMs : null,
      deadline: null,
      attempts: 0,
      groupId: options.groupId ?? null,
      createdAt: now,
      updatedAt: now,
    };
    onId?.(command.id);

    // The node holding the device stores the command as it sends it (one write where a
    // stored QUEUED command and its sending took two); whoever else finds it unstored below
    // stores it here.
    let reply: Awaited<ReturnType<ClusterBus["request"]>>;
    try {
      reply = await this.options.bus.request(deviceId, { kind: "deliver", command, unsaved: true });
    } catch (error) {
      // The bus could not ask (e.g. NATS is down): the caller gets the error, so the command
      // must not run later behind its back — unless the holder got it after all.
      const code = error instanceof CloudError ? error.code : CloudErrorCode.CLUSTER_UNAVAILABLE;
      const stored = await this.store(command).catch(() => undefined);
      if (!stored) throw error;
      const failed =
        stored.status === "QUEUED"
          ? await this.move(stored, "fail", {
              error: { code, message: "the command could not be routed" },
            }).catch(() => undefined)
          : undefined;
      if (failed) throw error;
      // On its way to the device (or already done): say where it stands, not that it failed.
      return (await this.options.store.commands.get(command.id).catch(() => undefined)) ?? stored;
    }
    if (reply !== "no_responders" && reply.ok && reply.saved) {
      // The holder answers with the version it wrote on sending it; otherwise (queued, or
      // sent by a listing that found it) the store says where it stands.
      const sent =
        reply.command?.id === command.id ? reply.command : await this.options.store.commands.get(command.id);
      // Tracked with its deadline: should its outcome's event never arrive, the sweep reads it then.
      if (sent && !isTerminalStatus(sent.status)) this.track(sent);
      return sent ?? command;
    }
    // Nobody took it on: nobody holds the device, or the holder could not (its session was
    // ending, its store failed, it answered too late, or it is an older node that stores
    // nothing for its creators). Stored here, QUEUED — unless the holder stored it meanwhile.
    const stored = await this.store(command);
    if (stored === command && reply === "no_responders" && command.expiresAt === null) {
      // [DESIGN: commands] without a TTL, an offline device fails at once, distinctly.
      const failed = await this.move(command, "fail", {
        error: { code: CloudErrorCode.DEVICE_OFFLINE, message: "the device is offline" },
      });
      const final = failed ?? (await this.get(command.id));
      throw (
        errorForCommand(final) ??
        new CommandFailedError(CloudErrorCode.DEVICE_OFFLINE, "the device is offline", 409, final)
      );
    }
    if (stored.status !== "QUEUED") return stored;
    // A session that listed the queue while this was unstored has missed it: whoever holds
    // the device now lists its queue again (a session that starts later lists it anyway).
    const again = await this.options.bus.request(deviceId, { kind: "deliver" }).catch(() => undefined);
    if (again === "no_responders") return stored; // still nobody: QUEUED as stored
    return (await this.options.store.commands.get(command.id)) ?? stored;
  }

  /**
   * Stores a new command as QUEUED and announces it; if its id is stored already (another
   * node stored it meanwhile), returns that version instead.
   */
  private async store(command: CommandRecord): Promise<CommandRecord> {
    try {
      await this.options.store.commands.create(command);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return (await this.options.store.commands.get(command.id)) ?? command;
    }
    this.changed(command);
    return command;
  }

  /** Sends and waits for the outcome: the device's result data, or a CommandFailedError. */
  async call(deviceId: string, method: string, params: unknown, options: SendOptions = {}): Promise<unknown> {
    const final = await this.sendAndWait(deviceId, method, params, options);
    const error = errorForCommand(final);
    if (error) throw error;
    if (final.status !== "SUCCEEDED") {
      throw new CommandFailedError(CloudErrorCode.RESULT_TIMEOUT, "no outcome in time", 504, final);
    }
    return final.result;
  }

  /** Resolves with the command once terminal, or as it stands when `timeoutMs` passes. */
  async wait(commandId: string, timeoutMs: number): Promise<CommandRecord> {
    // Register before reading: an outcome recorded (on any node) while the read is in
    // flight must not slip between the read and the registration.
    const watch = this.watch(commandId);
    let current: CommandRecord;
    try {
      current = await this.get(commandId);
    } catch (error) {
      watch.stop();
      throw error;
    }
    if (isTerminalStatus(current.status)) watch.done(current);
    else watch.arm(timeoutMs, current);
    return watch.outcome;
  }

  /** Registers for the command's outcome, recorded on this node or (through the bus) any other. */
  private watch(commandId: string): Watch {
    const set = this.waiters.get(commandId) ?? new Set<(command: CommandRecord) => void>();
    this.waiters.set(commandId, set);
    let resolveWait: (command: CommandRecord) => void = () => {};
    const outcome = new Promise<CommandRecord>((resolve) => {
      resolveWait = resolve;
    });
    let finished = false;
    let timer: unknown;
    const stop = () => {
      finished = true;
      if (timer !== undefined) this.clock.clearTimeout(timer);
      set.delete(done);
      if (set.size === 0 && this.waiters.get(commandId) === set) this.waiters.delete(commandId);
    };
    const done = (command: CommandRecord) => {
      if (finished) return;
      stop();
      resolveWait(command);
    };
    set.add(done);
    const arm = (timeoutMs: number, fallback: CommandRecord) => {
      if (finished) return;
      timer = this.clock.setTimeout(() => {
        void this.get(commandId).then(done, () => done(fallback));
      }, timeoutMs);
    };
    return { outcome, done, arm, stop };
  }

  async get(commandId: string): Promise<CommandRecord> {
    const command = await this.options.store.commands.get(commandId);
    if (!command) throw new NotFoundError(CloudErrorCode.COMMAND_NOT_FOUND, "no such command");
    return command;
  }

  list(deviceId: string, query?: CommandQuery): Promise<Page<CommandRecord>> {
    return this.options.store.commands.listByDevice(deviceId, query);
  }

  /** Cancels a command that is still QUEUED; later ones may already be running on the device. */
  async cancel(commandId: string): Promise<CommandRecord> {
    const command = await this.get(commandId);
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
    const canceled = await this.move(command, "cancel", {});
    if (!canceled) return this.cancel(commandId); // it moved meanwhile: answer for its new status
    return canceled;
  }

  /** Sends to every member of a group, at most `concurrency` at a time; one entry per device. */
  async fanOut(
    groupId: string,
    method: string,
    params: unknown,
    options: SendOptions & { concurrency?: number } = {},
  ): Promise<FanOutItem[]> {
    const group = await this.options.store.groups.get(groupId);
    if (!group) throw new NotFoundError(CloudErrorCode.GROUP_NOT_FOUND, "no such group");
    const deviceIds: string[] = [];
    let after: string | undefined;
    do {
      const page = await this.options.store.groups.listDeviceIds(groupId, {
        limit: 1000,
        ...(after ? { after } : {}),
      });
      deviceIds.push(...page.items);
      after = page.nextCursor;
    } while (after);

    const items: FanOutItem[] = new Array(deviceIds.length);
    let next = 0;
    const worker = async () => {
      while (next < deviceIds.length) {
        const index = next++;
        const deviceId = deviceIds[index] as string;
        try {
          const command = await this.send(deviceId, method, params, { ...options, groupId });
          items[index] = { deviceId, commandId: command.id, status: command.status };
        } catch (error) {
          const commandId = error instanceof CommandFailedError ? error.command.id : undefined;
          const code = error instanceof CloudError ? error.code : "internal_error";
          const message = error instanceof CloudError ? error.message : "unexpected error";
          items[index] = {
            deviceId,
            ...(commandId ? { commandId, status: (error as CommandFailedError).command.status } : {}),
            error: { code, message },
          };
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 16, deviceIds.length)) }, worker),
    );
    return items;
  }

  /**
   * Sends a session its QUEUED commands, oldest first. When the session just came online
   * (`takeOver`), SENT/DELIVERED commands of the device belong to an older session (one
   * session per device) — possibly on a node that died without requeueing them — so they
   * are requeued and redelivered first (§6.2; the device dedupes by id).
   *
   * `request.command` is a command just created, named by its creator's `deliver` request
   * (`unsaved`: not stored yet, so this node stores it). When this session's last listing of
   * the queue is complete (see Drained), it is sent without listing again — stored already
   * SENT, if unsaved; the reply carries the version written on sending it either way.
   */
  private flush(session: Session, takeOver = false, request: DeliverRequest = {}): Promise<BusReply> {
    const { deviceId } = session;
    const created = request.command?.deviceId === deviceId ? request.command : undefined;
    const unsaved = created !== undefined && request.unsaved === true;
    return this.perDevice.run(deviceId, async () => {
      if (session.closed) return { ok: false }; // an unsaved command is left to its creator
      try {
        return await this.flushNow(session, takeOver, created, unsaved);
      } catch (error) {
        // The store failed us, most likely. The next delivery lists the queue again, and the
        // creator stores a new command we could not (or finds it stored).
        this.drained.delete(deviceId);
        this.logger.warn({ deviceId, err: String(error) }, "command delivery failed");
        return { ok: false };
      }
    });
  }

  /** `flush`'s work, on the device's queue. */
  private async flushNow(
    session: Session,
    takeOver: boolean,
    created: CommandRecord | undefined,
    unsaved: boolean,
  ): Promise<BusReply> {
    const { deviceId } = session;
    const last = this.drained.get(deviceId);
    if (created && !takeOver && last?.sessionId === session.id && last.complete) {
      const sent = unsaved ? await this.sendNew(session, created) : await this.deliverOne(session, created);
      return { ok: true, ...(sent ? { command: sent } : {}), ...(unsaved ? { saved: true } : {}) };
    }
    if (created && unsaved) await this.store(created);
    const saved = unsaved ? { saved: true } : {};
    if (session.closed) return { ok: false, ...saved };
    const listing: Drained = { sessionId: session.id, complete: false };
    this.drained.set(deviceId, listing);
    if (takeOver) {
      const stale = await this.options.store.commands.listByDevice(deviceId, {
        status: ["SENT", "DELIVERED"],
        limit: 1000,
      });
      for (const command of stale.items) await this.move(command, "requeue", {});
      // Those requeues were this listing's own doing.
      if (session.closed) return { ok: false, ...saved };
      this.drained.set(deviceId, listing);
    }
    const queued = await this.options.store.commands.listQueued(deviceId);
    let named: CommandRecord | undefined;
    for (const command of queued) {
      if (session.closed) return { ok: false, ...saved };
      const sent = await this.deliverOne(session, command);
      if (sent && sent.id === created?.id) named = sent;
    }
    if (this.drained.get(deviceId) === listing && !session.closed) listing.complete = true;
    return { ok: true, ...(named ? { command: named } : {}), ...saved };
  }

  /**
   * Stores a command just created (never stored yet) as SENT and sends it: one write. Its
   * creation and sending are announced as two changes, as if stored QUEUED first.
   */
  private async sendNew(session: Session, created: CommandRecord): Promise<CommandRecord | undefined> {
    const now = this.clock.now();
    const sent: CommandRecord = {
      ...created,
      status: "SENT",
      deadline: now + created.timeoutMs,
      attempts: 1,
      updatedAt: now,
    };
    try {
      await this.options.store.commands.create(sent);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // Its creator stored it meanwhile (our reply was too late for it): deliver that one.
      const stored = await this.options.store.commands.get(created.id);
      return stored?.status === "QUEUED" ? this.deliverOne(session, stored) : undefined;
    }
    this.changed(created);
    this.changed(sent);
    return this.put(session, sent, now);
  }

  /** Sends one QUEUED command on the session (or ends it, past its deadline or TTL); the sent version. */
  private async deliverOne(session: Session, command: CommandRecord): Promise<CommandRecord | undefined> {
    const now = this.clock.now();
    if (command.deadline !== null && command.deadline <= now) {
      await this.move(command, "timeout", { error: timeoutError("SENT") });
      return undefined;
    }
    if (command.attempts === 0 && command.expiresAt !== null && command.expiresAt <= now) {
      await this.move(command, "expire", {});
      return undefined;
    }
    // The deadline counts from the first sending; redeliveries keep it.
    const deadline = command.deadline ?? now + command.timeoutMs;
    const sent = await this.move(command, "send", { deadline, attempts: command.attempts + 1 });
    if (!sent) return undefined; // canceled or taken meanwhile
    return this.put(session, sent, now);
  }

  /** Writes a SENT command to the session's socket (requeued if it cannot be); the sent version. */
  private async put(session: Session, sent: CommandRecord, now: number): Promise<CommandRecord | undefined> {
    const deadline = sent.deadline ?? now + sent.timeoutMs;
    const ok = this.options.hub.send(session.deviceId, {
      type: "cmd",
      id: sent.id,
      method: sent.method,
      ...(sent.params !== null ? { params: sent.params } : {}),
      deadline,
      timeoutMs: Math.max(0, deadline - now),
    });
    if (!ok) {
      await this.move(sent, "requeue", {});
      return undefined;
    }
    this.inFlight.set(sent.id, {
      deviceId: sent.deviceId,
      sessionId: session.id,
      attempts: sent.attempts,
      record: sent,
    });
    return sent;
  }

  /**
   * A session ended: what was sent on it and is still unanswered goes back to QUEUED. Only
   * that session's sendings count — in a cluster the device may already have a new session
   * elsewhere, which was sent the same command again (a higher `attempts`) and keeps it.
   */
  private requeueInFlight(deviceId: string, sessionId: string): Promise<void> {
    return this.perDevice.run(deviceId, async () => {
      let requeued = 0;
      for (const [id, sent] of this.inFlight) {
        if (sent.sessionId !== sessionId) continue;
        this.inFlight.delete(id);
        const command = await this.options.store.commands.get(id);
        if (
          command &&
          command.attempts === sent.attempts &&
          (command.status === "SENT" || command.status === "DELIVERED") &&
          (await this.move(command, "requeue", {}))
        ) {
          requeued++;
        }
      }
      if (requeued === 0) return;
      // A replacing session may already be online, here or on another node: give it what
      // was just requeued.
      const session = this.options.hub.session(deviceId);
      if (session) void this.flush(session);
      else void this.options.bus.request(deviceId, { kind: "deliver" }).catch(() => undefined);
    });
  }

  /** The version this node last wrote of a command sent on `session`, if it has one. */
  private sentOn(session: Session, commandId: string): CommandRecord | undefined {
    const sent = this.inFlight.get(commandId);
    return sent && sent.sessionId === session.id && sent.deviceId === session.deviceId
      ? sent.record
      : undefined;
  }

  private async onAck(session: Session, commandId: string): Promise<void> {
    const known = this.sentOn(session, commandId);
    if (known?.status === "SENT" && (await this.move(known, "ack", {}))) return;
    const command = await this.options.store.commands.get(commandId);
    if (!command || command.deviceId !== session.deviceId) {
      this.unknownCommand(session, commandId);
      return;
    }
    if (command.status === "SENT") await this.move(command, "ack", {});
    // Duplicate acks (redelivery) and acks after the outcome are harmless: ignored.
  }

  private async onResult(session: Session, pdu: ResultPdu): Promise<void> {
    const known = this.sentOn(session, pdu.id);
    if (known && (await this.record(known, pdu))) return;
    const command = await this.options.store.commands.get(pdu.id);
    if (!command || command.deviceId !== session.deviceId) {
      this.unknownCommand(session, pdu.id);
      return;
    }
    if (isTerminalStatus(command.status)) return; // late or duplicate: the first outcome stands
    await this.record(command, pdu);
  }

  /** Records the device's outcome on `command`; undefined when it had moved on. */
  private record(command: CommandRecord, pdu: ResultPdu): Promise<CommandRecord | undefined> {
    if (pdu.ok) return this.move(command, "succeed", { result: pdu.data ?? null });
    const error: CommandError = {
      code: pdu.error?.code ?? ErrorCode.EXECUTOR_ERROR,
      message: pdu.error?.message ?? "",
    };
    if (pdu.error?.details !== undefined) error.details = pdu.error.details;
    return this.move(command, "fail", { error });
  }

  private unknownCommand(session: Session, commandId: string): void {
    this.options.hub.send(session.deviceId, {
      type: "error",
      code: ErrorCode.UNKNOWN_COMMAND,
      message: "unknown command id",
      ...(/^[A-Za-z0-9_-]{1,64}$/.test(commandId) ? { ref: commandId } : {}),
    });
  }

  /**
   * Applies one state-machine event with a compare-and-set on the stored status; returns
   * the new record, or undefined when the command had moved on (another node, a race).
   */
  private async move(
    command: CommandRecord,
    event: MachineEvent,
    patch: Partial<Pick<CommandRecord, "result" | "error" | "deadline" | "attempts">>,
  ): Promise<CommandRecord | undefined> {
    const status = commandMachine.next(command.status, event);
    if (status === undefined) return undefined;
    // `command` as the basis: exact compare-and-set on the version read (a command that
    // came back to this status meanwhile is left alone), and no read-back on MySQL.
    const updated = await this.options.store.commands.transition(
      command.id,
      command.status,
      { ...patch, status, updatedAt: this.clock.now() },
      command,
    );
    if (!updated) return undefined;
    this.changed(updated);
    return updated;
  }

  private changed(command: CommandRecord): void {
    if (command.status === "QUEUED" || isTerminalStatus(command.status)) this.inFlight.delete(command.id);
    else {
      const sent = this.inFlight.get(command.id);
      if (sent && sent.attempts === command.attempts) sent.record = command;
    }
    if (isTerminalStatus(command.status)) {
      this.tracked.delete(command.id);
      this.settle(command);
    } else {
      this.track(command);
    }
    this.options.log?.(
      command.deviceId,
      "command",
      command.status,
      { commandId: command.id, method: command.method },
      command.updatedAt,
    );
    const event: CloudEvent = { type: "command", deviceId: command.deviceId, at: command.updatedAt, command };
    void this.options.bus.publish(event).catch(() => {});
  }

  private settle(command: CommandRecord): void {
    const set = this.waiters.get(command.id);
    if (set) for (const done of [...set]) done(command);
  }

  private track(command: CommandRecord): void {
    this.tracked.set(command.id, {
      deviceId: command.deviceId,
      deadline: command.deadline,
      expiresAt: command.expiresAt,
    });
  }

  /** Deadlines of sent commands and TTLs of queued ones, for everything this node tracks. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.sweepOnce();
    } catch (error) {
      this.logger.warn({ err: String(error) }, "command sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  private sweeping = false;

  private async sweepOnce(): Promise<void> {
    const now = this.clock.now();
    for (const [id, tracked] of this.tracked) {
      const due =
        (tracked.deadline !== null && tracked.deadline <= now) ||
        (tracked.expiresAt !== null && tracked.expiresAt <= now);
      if (!due) continue;
      const command = await this.options.store.commands.get(id);
      if (!command || isTerminalStatus(command.status)) {
        this.tracked.delete(id);
        continue;
      }
      if (command.deadline !== null && command.deadline <= now) {
        await this.move(command, "timeout", { error: timeoutError(command.status) });
      } else if (
        command.status === "QUEUED" &&
        command.attempts === 0 &&
        command.expiresAt !== null &&
        command.expiresAt <= now
      ) {
        await this.move(command, "expire", {});
      } else {
        this.track(command);
      }
    }
  }

  /**
   * The store scan: every non-terminal command, whichever node created or sent it, is
   * timed out at its deadline, expired at its TTL, and — when it has no TTL and was never
   * sent within its timeout plus a grace (its node died between creating and delivering it,
   * or the device vanished meanwhile) — failed as offline. Compare-and-set makes concurrent scans
   * by several nodes harmless. Returns how many commands it ended.
   */
  async scan(): Promise<number> {
    if (this.scanning || this.closed) return 0;
    this.scanning = true;
    let ended = 0;
    try {
      const now = this.clock.now();
      for (const command of await this.options.store.commands.listNonTerminal()) {
        let moved: CommandRecord | undefined;
        if (command.deadline !== null && command.deadline <= now) {
          moved = await this.move(command, "timeout", { error: timeoutError(command.status) });
        } else if (command.status === "QUEUED" && command.attempts === 0) {
          if (command.expiresAt !== null && command.expiresAt <= now) {
            moved = await this.move(command, "expire", {});
          } else if (
            command.expiresAt === null &&
            command.createdAt + command.timeoutMs + UNSENT_GRACE_MS <= now
          ) {
            moved = await this.move(command, "fail", {
              error: { code: CloudErrorCode.DEVICE_OFFLINE, message: "the device is offline" },
            });
          }
        }
        if (moved) ended++;
      }
    } catch (error) {
      this.logger.warn({ err: String(error) }, "command scan failed");
    } finally {
      this.scanning = false;
    }
    return ended;
  }

  private scanning = false;

  private validate(method: string, params: unknown, timeoutMs: number, ttlMs: number | undefined): void {
    const fields: Array<{ path: string; message: string }> = [];
    const maxTimeout = this.options.maxTimeoutMs ?? 86_400_000;
    const maxTtl = this.options.maxTtlMs ?? 30 * 86_400_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > maxTimeout) {
      fields.push({ path: "/timeoutMs", message: `must be an integer in 1..${maxTimeout}` });
    }
    if (ttlMs !== undefined && (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > maxTtl)) {
      fields.push({ path: "/ttlMs", message: `must be an integer in 1..${maxTtl}` });
    }
    if (fields.length === 0) {
      // The cmd PDU this becomes must be one the device accepts (method syntax, frame size).
      try {
        encode(
          {
            type: "cmd",
            id: "probe",
            method,
            ...(params !== undefined && params !== null ? { params } : {}),
            deadline: 0,
            timeoutMs,
          },
          { limits: this.options.hub.limits },
        );
      } catch (error) {
        const issues = (error as { issues?: Array<{ path: string; message: string }> }).issues ?? [];
        const code = (error as { code?: string }).code;
        if (code === "frame_too_large") fields.push({ path: "/params", message: "too large for one frame" });
        else if (issues.length > 0)
          fields.push(
            ...issues.map((i) => ({ path: i.path.replace(/^\/method/, "/method"), message: i.message })),
          );
        else fields.push({ path: "/params", message: "not valid JSON within the protocol limits" });
      }
    }
    if (fields.length > 0) throw new ValidationError("invalid command", fields);
  }

  /** Stops the sweep; pending waiters resolve as their timers fire. */
  close(): void {
    this.closed = true;
    this.clock.clearInterval(this.timer);
    this.clock.clearInterval(this.scanTimer);
    this.unsubscribe();
  }
}

/** How long past its timeout a never-sent command without a TTL may still be on its way to the socket. */
const UNSENT_GRACE_MS = 30_000;

function timeoutError(status: CommandStatus): CommandError {
  return status === "DELIVERED"
    ? { code: CloudErrorCode.RESULT_TIMEOUT, message: "no result before the deadline" }
    : { code: CloudErrorCode.DELIVERY_TIMEOUT, message: "no acknowledgement before the deadline" };
}
