import { ErrorCode, isTerminalStatus, type ResultPdu } from "@cloudedge/protocol";
import type { BusReply } from "../cluster/cluster-bus.js";
import { ConflictError } from "../errors.js";
import type { Session } from "../hub/session.js";
import type { CommandError, CommandRecord, CommandRepository } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import { KeyedQueue } from "../util/keyed-queue.js";
import type { Logger } from "../util/logger.js";
import type { BrokerLink, DeliverRequest } from "./broker-link.js";
import { endOverdue, overdue } from "./command-deadlines.js";
import type { CommandLedger } from "./command-ledger.js";

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

/**
 * Delivery on this node's sessions (§6): sending queued commands (oldest first), the
 * device's acks and results, and requeueing what a lost session leaves unanswered
 * (at-least-once; the device dedupes).
 */
export class CommandDelivery {
  private readonly perDevice = new KeyedQueue();
  /** Commands sent on this node's sessions and not yet answered, to requeue when the session ends. */
  private readonly inFlight = new Map<string, InFlight>();
  /** Acks received and not yet being written ("sessionId commandId"); a result drops its ack's. */
  private readonly acking = new Set<string>();
  /** Per device held here: the last listing of its queue (see Drained). */
  private readonly drained = new Map<string, Drained>();

  constructor(
    private readonly commands: CommandRepository,
    private readonly ledger: CommandLedger,
    private readonly link: BrokerLink,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * A session came online. Taking over an older session's sendings matters only where that
   * session may have been on another node; on one node recovery and `offline` cover it.
   */
  online(session: Session): void {
    void this.flush(session, this.link.clustered);
  }

  /** A session ended: its listing no longer counts, and its unanswered sendings are requeued. */
  offline(deviceId: string, sessionId: string): void {
    if (this.drained.get(deviceId)?.sessionId === sessionId) this.drained.delete(deviceId);
    void this.requeueInFlight(deviceId, sessionId);
  }

  /** Some node asks for the device's queue (and names the command it just created). */
  deliver(session: Session, request: DeliverRequest): Promise<BusReply> {
    return this.flush(session, false, request);
  }

  /*
   * Acks and results of one device are handled in arrival order: a result racing its own
   * ack would otherwise lose the compare-and-set and be dropped. A result that arrives
   * before its ack's write has begun (typically in the same read, for a quick method)
   * makes that write moot: the command goes SENT → outcome in one write (§6.1).
   */

  /** The device acknowledged a command. */
  ack(session: Session, commandId: string): void {
    const key = `${session.id} ${commandId}`;
    this.acking.add(key);
    void this.perDevice.run(session.deviceId, () =>
      this.acking.delete(key) ? this.onAck(session, commandId) : Promise.resolve(),
    );
  }

  /** The device answered a command. */
  result(session: Session, pdu: ResultPdu): void {
    this.acking.delete(`${session.id} ${pdu.id}`);
    void this.perDevice.run(session.deviceId, () => this.onResult(session, pdu));
  }

  /** A change this node made: keeps the in-flight copy current (or drops it once answered or requeued). */
  changed(command: CommandRecord): void {
    if (command.status === "QUEUED" || isTerminalStatus(command.status)) this.inFlight.delete(command.id);
    else {
      const sent = this.inFlight.get(command.id);
      if (sent && sent.attempts === command.attempts) sent.record = command;
    }
  }

  /**
   * A change on any node: an outcome ends this node's sending; a requeue means the device's
   * queue must be listed again.
   */
  observed(command: CommandRecord): void {
    if (isTerminalStatus(command.status)) this.inFlight.delete(command.id);
    else if (command.status === "QUEUED" && command.attempts > 0) this.drained.delete(command.deviceId);
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
    if (created && unsaved) await this.ledger.store(created);
    const saved = unsaved ? { saved: true } : {};
    if (session.closed) return { ok: false, ...saved };
    const listing: Drained = { sessionId: session.id, complete: false };
    this.drained.set(deviceId, listing);
    if (takeOver) {
      const stale = await this.commands.listByDevice(deviceId, {
        status: ["SENT", "DELIVERED"],
        limit: 1000,
      });
      for (const command of stale.items) await this.ledger.move(command, "requeue");
      // Those requeues were this listing's own doing.
      if (session.closed) return { ok: false, ...saved };
      this.drained.set(deviceId, listing);
    }
    const queued = await this.commands.listQueued(deviceId);
    let named: CommandRecord | undefined;
    for (const command of queued) {
      if (session.closed) return { ok: false, ...saved };
      const sent = await this.deliverOne(session, command);
      if (sent && sent.id === created?.id) named = sent;
    }
    if (this.drained.get(deviceId) === listing && !session.closed) listing.complete = true;
    return { ok: true, ...(named ? { command: named } : {}), ...saved };
  }

  /** Stores a command just created (never stored yet) as SENT and sends it: one write. */
  private async sendNew(session: Session, created: CommandRecord): Promise<CommandRecord | undefined> {
    const now = this.clock.now();
    let sent: CommandRecord | undefined;
    try {
      sent = await this.ledger.storeMoved(created, "send", {
        deadline: now + created.timeoutMs,
        attempts: 1,
      });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // Its creator stored it meanwhile (our reply was too late for it): deliver that one.
      const stored = await this.ledger.find(created.id);
      return stored?.status === "QUEUED" ? this.deliverOne(session, stored) : undefined;
    }
    if (!sent) {
      // The state machine refuses to send it: stored as created, for its creator to find.
      await this.ledger.store(created);
      return undefined;
    }
    return this.put(session, sent, now);
  }

  /** Sends one QUEUED command on the session (or ends it, past its deadline or TTL); the sent version. */
  private async deliverOne(session: Session, command: CommandRecord): Promise<CommandRecord | undefined> {
    const now = this.clock.now();
    const due = overdue(command, now);
    if (due) {
      await endOverdue(this.ledger, command, due);
      return undefined;
    }
    // The deadline counts from the first sending; redeliveries keep it.
    const deadline = command.deadline ?? now + command.timeoutMs;
    const sent = await this.ledger.move(command, "send", { deadline, attempts: command.attempts + 1 });
    if (!sent) return undefined; // canceled or taken meanwhile
    return this.put(session, sent, now);
  }

  /** Writes a SENT command to the session's socket (requeued if it cannot be); the sent version. */
  private async put(session: Session, sent: CommandRecord, now: number): Promise<CommandRecord | undefined> {
    const deadline = sent.deadline ?? now + sent.timeoutMs;
    const ok = this.link.send(session.deviceId, {
      type: "cmd",
      id: sent.id,
      method: sent.method,
      ...(sent.params !== null ? { params: sent.params } : {}),
      deadline,
      timeoutMs: Math.max(0, deadline - now),
    });
    if (!ok) {
      await this.ledger.move(sent, "requeue");
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
        const command = await this.commands.get(id);
        if (
          command &&
          command.attempts === sent.attempts &&
          (command.status === "SENT" || command.status === "DELIVERED") &&
          (await this.ledger.move(command, "requeue"))
        ) {
          requeued++;
        }
      }
      if (requeued === 0) return;
      // A replacing session may already be online, here or on another node: give it what
      // was just requeued.
      const session = this.link.session(deviceId);
      if (session) void this.flush(session);
      else this.link.nudge(deviceId);
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
    if (known?.status === "SENT" && (await this.ledger.move(known, "ack", acknowledged(known, this.clock))))
      return;
    const command = await this.commands.get(commandId);
    if (!command || command.deviceId !== session.deviceId) {
      this.unknownCommand(session, commandId);
      return;
    }
    if (command.status === "SENT") await this.ledger.move(command, "ack", acknowledged(command, this.clock));
    // Duplicate acks (redelivery) and acks after the outcome are harmless: ignored.
  }

  private async onResult(session: Session, pdu: ResultPdu): Promise<void> {
    const known = this.sentOn(session, pdu.id);
    if (known && (await this.record(known, pdu))) return;
    const command = await this.commands.get(pdu.id);
    if (!command || command.deviceId !== session.deviceId) {
      this.unknownCommand(session, pdu.id);
      return;
    }
    if (isTerminalStatus(command.status)) return; // late or duplicate: the first outcome stands
    await this.record(command, pdu);
  }

  /** Records the device's outcome on `command`; undefined when it had moved on. */
  private record(command: CommandRecord, pdu: ResultPdu): Promise<CommandRecord | undefined> {
    if (pdu.ok) return this.ledger.move(command, "succeed", { result: pdu.data ?? null });
    const error: CommandError = {
      code: pdu.error?.code ?? ErrorCode.EXECUTOR_ERROR,
      message: pdu.error?.message ?? "",
    };
    if (pdu.error?.details !== undefined) error.details = pdu.error.details;
    return this.ledger.move(command, "fail", { error });
  }

  private unknownCommand(session: Session, commandId: string): void {
    this.link.send(session.deviceId, {
      type: "error",
      code: ErrorCode.UNKNOWN_COMMAND,
      message: "unknown command id",
      ...(/^[A-Za-z0-9_-]{1,64}$/.test(commandId) ? { ref: commandId } : {}),
    });
  }
}

/** The ack's patch: the first acknowledgement's time, kept by later attempts. */
function acknowledged(command: CommandRecord, clock: Clock): { acknowledgedAt: number } {
  return { acknowledgedAt: command.acknowledgedAt ?? clock.now() };
}
