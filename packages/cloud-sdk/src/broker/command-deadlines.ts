import { isTerminalStatus } from "@cloudedge/protocol";
import { CloudErrorCode } from "../errors.js";
import type { CommandError, CommandRecord, CommandRepository } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { CommandLedger } from "./command-ledger.js";

/** What decides whether a command is overdue. */
export type DeadlineFields = Pick<CommandRecord, "status" | "attempts" | "deadline" | "expiresAt">;

/**
 * Whether the command is overdue at `now`, as the event that ends it: `timeout` once its
 * deadline (set on first sending, kept by redeliveries) passed; `expire` once the TTL of a
 * never-sent QUEUED command passed (§6.1: only QUEUED can expire, and a requeued command
 * was delivered once, so its deadline governs).
 */
export function overdue(command: DeadlineFields, now: number): "timeout" | "expire" | undefined {
  if (command.deadline !== null && command.deadline <= now) return "timeout";
  if (
    command.status === "QUEUED" &&
    command.attempts === 0 &&
    command.expiresAt !== null &&
    command.expiresAt <= now
  )
    return "expire";
  return undefined;
}

/** Ends an overdue command (`due` from `overdue`); the ended record, or undefined when it had moved on. */
export function endOverdue(
  ledger: CommandLedger,
  command: CommandRecord,
  due: "timeout" | "expire",
): Promise<CommandRecord | undefined> {
  return due === "timeout"
    ? ledger.move(command, "timeout", { error: timeoutError(command) })
    : ledger.move(command, "expire");
}

/**
 * A timed-out command's error, the one definition across attempts (§6.1): `result_timeout`
 * once the device acknowledged any attempt (it is DELIVERED, or was before a requeue) —
 * the device had the command; `delivery_timeout` when no attempt was ever acknowledged.
 */
export function timeoutError(command: Pick<CommandRecord, "status" | "acknowledgedAt">): CommandError {
  return command.status === "DELIVERED" || command.acknowledgedAt !== null
    ? { code: CloudErrorCode.RESULT_TIMEOUT, message: "no result before the deadline" }
    : { code: CloudErrorCode.DELIVERY_TIMEOUT, message: "no acknowledgement before the deadline" };
}

/** How long past its timeout a never-sent command without a TTL may still be on its way to the socket. */
const UNSENT_GRACE_MS = 30_000;

/**
 * Deadlines and TTLs: a sweep (every `sweepMs`) over the commands this node knows of, and a
 * scan (every `scanMs`) of every non-terminal command in the store, whichever node created
 * or sent it (in a cluster that node may have died).
 */
export class CommandDeadlines {
  /** Non-terminal commands this node knows of, as it last saw them. */
  private readonly tracked = new Map<string, DeadlineFields>();
  private readonly timers: unknown[];
  private sweeping = false;
  private scanning = false;
  private closed = false;

  constructor(
    private readonly commands: CommandRepository,
    private readonly ledger: CommandLedger,
    private readonly clock: Clock,
    private readonly logger: Logger,
    periods: { sweepMs: number; scanMs: number },
  ) {
    this.timers = [
      clock.setInterval(() => void this.sweep(), periods.sweepMs),
      clock.setInterval(() => void this.scan(), periods.scanMs),
    ];
  }

  /** Watches a non-terminal command's deadline and TTL (or stops, once it is terminal). */
  track(command: CommandRecord): void {
    if (isTerminalStatus(command.status)) this.tracked.delete(command.id);
    else
      this.tracked.set(command.id, {
        status: command.status,
        attempts: command.attempts,
        deadline: command.deadline,
        expiresAt: command.expiresAt,
      });
  }

  /** Deadlines of sent commands and TTLs of queued ones, for everything this node tracks. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = this.clock.now();
      for (const [id, tracked] of this.tracked) {
        // Deadlines never move and attempts only grow, so what this node last saw tells.
        if (!overdue(tracked, now)) continue;
        const command = await this.commands.get(id);
        if (!command || isTerminalStatus(command.status)) {
          this.tracked.delete(id);
          continue;
        }
        const due = overdue(command, now);
        if (due) await endOverdue(this.ledger, command, due);
        else this.track(command);
      }
    } catch (error) {
      this.logger.warn({ err: String(error) }, "command sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * The store scan: every non-terminal command is timed out at its deadline, expired at its
   * TTL, and — when it has no TTL and was never sent within its timeout plus a grace (its
   * node died between creating and delivering it, or the device vanished meanwhile) —
   * failed as offline. Compare-and-set makes concurrent scans by several nodes harmless.
   * Returns how many commands it ended.
   */
  async scan(): Promise<number> {
    if (this.scanning || this.closed) return 0;
    this.scanning = true;
    let ended = 0;
    try {
      const now = this.clock.now();
      for (const command of await this.commands.listNonTerminal()) {
        const due = overdue(command, now);
        let moved: CommandRecord | undefined;
        if (due) moved = await endOverdue(this.ledger, command, due);
        else if (unsentTooLong(command, now)) {
          moved = await this.ledger.move(command, "fail", {
            error: { code: CloudErrorCode.DEVICE_OFFLINE, message: "the device is offline" },
          });
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

  /** Stops the sweep and the scan. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) this.clock.clearInterval(timer);
  }
}

/** A never-sent command without a TTL that should have reached its device long ago. */
function unsentTooLong(command: CommandRecord, now: number): boolean {
  return (
    command.status === "QUEUED" &&
    command.attempts === 0 &&
    command.expiresAt === null &&
    command.createdAt + command.timeoutMs + UNSENT_GRACE_MS <= now
  );
}
