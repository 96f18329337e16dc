import { isTerminalStatus, jobMachine } from "@cloudedge/protocol";
import type { CommandBroker } from "../broker/command-broker.js";
import { CommandFailedError } from "../broker/command-errors.js";
import { CloudErrorCode, isCloudError } from "../errors.js";
import type { CloudEvent } from "../events.js";
import type { CommandRecord, Store } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import { KeyedQueue } from "../util/keyed-queue.js";
import type { Logger } from "../util/logger.js";
import { ExecutionBook, type Tracked } from "./execution-book.js";
import { JobLedger } from "./job-ledger.js";
import { currentRate, RatePacer, trippedRule, waveStep } from "./job-rules.js";
import { resolveTargets, targetsDevice } from "./job-targets.js";
import {
  type ExecutionCounts,
  type ExecutionPatch,
  type ExecutionStatus,
  isFinishedExecution,
  type Job,
  type JobExecution,
  type JobReason,
} from "./job-types.js";

/** What a runner works with. */
export interface RunnerParts {
  store: Store;
  broker: CommandBroker;
  ids: IdGenerator;
  clock: Clock;
  logger: Logger;
  publish: (event: CloudEvent) => void;
  /** Period of the store read of in-flight commands (an outcome whose event was lost). */
  pollMs: number;
  /** The job ended and nothing of it is in flight: the runner is done. */
  done: (jobId: string) => void;
}

/** Executions whose command may still run on the device once the job ended. */
const SENT_STATUSES: readonly ExecutionStatus[] = ["SENT", "DELIVERED"];

/**
 * Drives one job: resolves its targets into PENDING executions, dispatches them as commands
 * through the broker under the rollout (maxInFlight, rate, waves), mirrors each command's
 * status onto its execution, and applies the abort rules. Holds only what is in flight
 * (≤ maxInFlight executions) and live counts (ExecutionBook); everything else is paged from
 * the store, so a restarted runner (`open`) resumes exactly where the store says the job stands.
 */
export class JobRunner {
  private readonly book: ExecutionBook;
  private readonly ledger: JobLedger;
  private readonly pacer = new RatePacer();
  private readonly perDevice = new KeyedQueue();
  private wakeTimer: unknown;
  private wakeTarget = Number.POSITIVE_INFINITY;
  private pollTimer: unknown;
  private pumping = false;
  private again = false;
  private closed = false;
  /** The end of the job was settled (settleEnd ran). */
  private ended = false;

  constructor(
    job: Job,
    private readonly parts: RunnerParts,
  ) {
    this.book = new ExecutionBook(parts.store);
    this.ledger = new JobLedger(job, parts.store, parts.clock, parts.publish, () => this.book.counts);
  }

  /** The job as this runner last wrote or read it. */
  get job(): Job {
    return this.ledger.job;
  }

  /** Live counts per status (the store's, kept current by this runner's own writes). */
  get counts(): ExecutionCounts {
    return this.book.counts;
  }

  /** Loads the live figures and what is in flight from the store, and starts driving. */
  async open(): Promise<void> {
    await this.book.load(this.job);
    // Outcomes reached while no runner watched (or a command never sent: cut off by a restart).
    await this.reconcile();
    this.pollTimer = this.parts.clock.setInterval(
      () => void this.reconcile().catch(() => {}),
      this.parts.pollMs,
    );
    this.kick();
  }

  /** A command changed (any node): mirror it onto its execution, if it is one of ours. */
  observe(command: CommandRecord): void {
    const tracked = this.book.inFlight.get(command.id);
    if (!tracked) return;
    void this.perDevice.run(tracked.deviceId, () => this.apply(command)).catch((error) => this.failed(error));
  }

  private async apply(command: CommandRecord): Promise<void> {
    const tracked = this.book.inFlight.get(command.id);
    if (!tracked || tracked.status === command.status) return;
    const terminal = isTerminalStatus(command.status);
    const moved = await this.transition(command.id, tracked, {
      status: command.status,
      ...(terminal ? { error: command.error } : {}),
    });
    if (!moved) {
      // Moved by someone else (a forced cancel): whatever the device says now is ignored.
      const current = await this.parts.store.jobs.getExecution(this.job.id, tracked.deviceId);
      if (!current || isFinishedExecution(current.status)) this.book.inFlight.delete(command.id);
      else tracked.status = current.status;
      return;
    }
    if (terminal) await this.outcome();
  }

  /** Moves an execution from `tracked.status` (compare-and-set), books and announces it; false when it had moved. */
  private async transition(
    commandId: string,
    tracked: Tracked,
    patch: Omit<ExecutionPatch, "updatedAt">,
  ): Promise<boolean> {
    const updated = await this.parts.store.jobs.transitionExecution(
      this.job.id,
      tracked.deviceId,
      tracked.status,
      {
        ...patch,
        updatedAt: this.parts.clock.now(),
      },
    );
    if (!updated) return false;
    this.booked(commandId, tracked, updated);
    return true;
  }

  private booked(commandId: string, tracked: Tracked, updated: JobExecution): void {
    this.book.moved(this.job, commandId, tracked, updated);
    this.ledger.announceExecution(updated);
  }

  /** An execution ended: check the abort rules, then dispatch what may go now. */
  private async outcome(): Promise<void> {
    const { status, abort } = this.job;
    if (status === "IN_PROGRESS" || status === "PAUSED") {
      const tripped = trippedRule(abort, this.book.counts, this.book.rejected);
      if (tripped) await this.abort({ type: "abort_rule", ...tripped });
    }
    this.kick();
  }

  /** Runs the dispatch loop soon; calls while it runs make it go round once more. */
  kick(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.step();
      } while (this.again && !this.closed);
    } catch (error) {
      this.failed(error);
      this.wakeAt(this.parts.clock.now() + 1_000); // the store failed: try again shortly
    } finally {
      this.pumping = false;
    }
  }

  private async step(): Promise<void> {
    const now = this.parts.clock.now();
    if (this.job.status === "SCHEDULED") {
      if ((this.job.scheduledAt ?? 0) > now) return this.wakeAt(this.job.scheduledAt as number);
      await this.ledger.move("start", { startedAt: now });
    }
    if (jobMachine.isTerminal(this.job.status)) {
      await this.settleEnd();
      return this.retireIfIdle();
    }
    if (this.job.status !== "IN_PROGRESS") return;
    if (this.job.total === null) await this.resolve();
    const { counts, inFlight } = this.book;
    if (counts.PENDING === 0 && inFlight.size === 0) {
      if (this.job.targetSelection === "continuous") return; // waits for devices to come; ends by cancel
      await this.ledger.move("complete", { finishedAt: now });
      return this.retireIfIdle();
    }
    let allowance = Math.min(this.job.rollout.maxInFlight - inFlight.size, counts.PENDING);
    if (this.job.waves) allowance = Math.min(allowance, await this.waveAllowance(now));
    if (allowance <= 0 || this.job.status !== "IN_PROGRESS") return;
    const granted = this.pacer.take(now, currentRate(this.job.rollout, counts.SUCCEEDED), allowance);
    if (granted < allowance) this.wakeAt(this.pacer.wakeAt);
    if (granted === 0) return;
    const page = await this.parts.store.jobs.listExecutions(this.job.id, {
      status: ["PENDING"],
      limit: granted,
    });
    this.pacer.refund(granted - page.items.length);
    await Promise.all(page.items.map((e) => this.dispatch(e)));
    if (page.items.length > 0) this.again = true;
    else await this.recount(); // counted PENDING but none left: devices deleted meanwhile (their rows cascade)
  }

  private async recount(): Promise<void> {
    await this.book.recount(this.job);
    if (this.book.counts.PENDING === 0) this.again = true;
    else this.wakeAt(this.parts.clock.now() + 1_000);
  }

  /** Snapshot targets → PENDING executions, then the total (idempotent: a restart may run it again). */
  private async resolve(): Promise<void> {
    await resolveTargets(this.parts.store, this.job.id, this.job.targets, this.parts.clock.now());
    await this.book.recount(this.job);
    await this.ledger.patch({ total: Object.values(this.book.counts).reduce((a, b) => a + b, 0) });
  }

  /** How many more the current wave may dispatch now (see `waveStep`); soaks, next waves and pauses happen here. */
  private async waveAllowance(now: number): Promise<number> {
    const { waves, wave, total, soakUntil } = this.job;
    const next = waveStep(waves ?? [], wave, total ?? 0, this.book.waveCounts, soakUntil, now);
    switch (next.kind) {
      case "dispatch":
        return next.count;
      case "soak":
        if (soakUntil === null) await this.ledger.patch({ soakUntil: next.until });
        this.wakeAt(next.until);
        return 0;
      case "next":
        await this.nextWave();
        this.again = true;
        return 0;
      case "pause":
        await this.ledger.move("pause", { reason: next.reason });
        return 0;
    }
  }

  private async nextWave(): Promise<void> {
    await this.ledger.patch({ wave: this.job.wave + 1, soakUntil: null });
    this.book.nextWave();
  }

  private async dispatch(e: JobExecution): Promise<void> {
    const commandId = this.parts.ids();
    const tracked: Tracked = { deviceId: e.deviceId, status: "PENDING", wave: this.job.wave, sending: true };
    // The claim: the command id recorded before sending, so a restart sends this very command
    // or finds it. A second driver loses the compare-and-set: the device gets it once.
    this.book.inFlight.set(commandId, tracked);
    if (!(await this.transition(commandId, tracked, { status: "QUEUED", commandId, wave: tracked.wave }))) {
      this.book.inFlight.delete(commandId);
      return;
    }
    // Not awaited: the next page is listed once the claims are stored, so a slow delivery
    // (a holder across the cluster) never holds up the dispatch of the others.
    void this.send(commandId, tracked).catch((error) => this.failed(error));
  }

  private async send(commandId: string, tracked: Tracked): Promise<void> {
    const { method, params, executionTimeoutMs, ttlMs } = this.job;
    tracked.sending = true;
    try {
      const command = await this.parts.broker.send(tracked.deviceId, method, params, {
        timeoutMs: executionTimeoutMs,
        ...(ttlMs !== null ? { ttlMs } : {}),
        commandId,
      });
      this.observe(command);
    } catch (error) {
      if (error instanceof CommandFailedError) this.observe(error.command);
      else if (
        isCloudError(error) &&
        (error.code === CloudErrorCode.DEVICE_DISABLED || error.code === CloudErrorCode.DEVICE_NOT_FOUND)
      ) {
        // Never sent (device disabled or deleted when its turn came). Not through the
        // per-device queue: without a command no event can race it, and the poll calls this from inside it.
        if (
          !(await this.transition(commandId, tracked, {
            status: "SKIPPED",
            commandId: null,
            error: { code: error.code, message: error.message },
          }))
        )
          this.book.inFlight.delete(commandId);
        await this.outcome();
      } else this.failed(error); // left QUEUED with its command id: the poll sends it again
    } finally {
      tracked.sending = false;
    }
  }

  /** Reads every in-flight command from the store: lost events, and commands a restart cut off before sending. */
  private async reconcile(): Promise<void> {
    for (const [commandId, tracked] of [...this.book.inFlight]) {
      if (tracked.sending) continue;
      const command = await this.parts.store.commands.get(commandId);
      if (!command) await this.perDevice.run(tracked.deviceId, () => this.commandMissing(commandId, tracked));
      else if (command.status === "QUEUED" && this.parts.clock.now() - command.updatedAt >= this.parts.pollMs)
        // Queued for a poll period: if the device is online, its delivery request was lost
        // (its creator died before it reached the device's node): ask that node again.
        await this.parts.broker.redeliver(tracked.deviceId);
      else this.observe(command);
    }
  }

  /** No such command: never sent (send it now, with its recorded id), or gone with its deleted device. */
  private async commandMissing(commandId: string, tracked: Tracked): Promise<void> {
    const execution = await this.parts.store.jobs.getExecution(this.job.id, tracked.deviceId);
    if (execution?.status === "QUEUED" && execution.commandId === commandId)
      return this.send(commandId, tracked);
    if (execution && !isFinishedExecution(execution.status)) return;
    this.book.inFlight.delete(commandId);
    await this.recount();
    this.kick();
  }

  /**
   * Continuous selection: a device registered, relabelled or added to `groupId` gets an
   * execution if it now matches the targets (once: the store keeps one per device).
   */
  consider(deviceId: string, groupId?: string): void {
    const { targetSelection, status, total } = this.job;
    // Before resolution the snapshot picks it up anyway.
    if (targetSelection !== "continuous" || jobMachine.isTerminal(status) || total === null) return;
    void this.perDevice.run(deviceId, () => this.add(deviceId, groupId)).catch((error) => this.failed(error));
  }

  private async add(deviceId: string, groupId: string | undefined): Promise<void> {
    const { store, clock } = this.parts;
    if (!(await targetsDevice(store, this.job.targets, deviceId, groupId))) return;
    if (await store.jobs.getExecution(this.job.id, deviceId)) return;
    await store.jobs.addExecutions(this.job.id, [deviceId], clock.now());
    if (!(await store.jobs.getExecution(this.job.id, deviceId))) return; // deleted meanwhile
    this.book.counts.PENDING += 1;
    await this.ledger.patch({ total: (this.job.total ?? 0) + 1 });
    this.kick();
  }

  /**
   * The stored record changed elsewhere (an operator action on any node): adopt it. A
   * resume that advanced the wave starts the new wave's counts; an end is settled by `step`.
   */
  async refresh(stored: Job): Promise<void> {
    const before = this.job;
    if (
      stored.updatedAt < before.updatedAt ||
      (stored.status === before.status && stored.wave === before.wave)
    )
      return;
    this.ledger.job = stored;
    if (stored.wave !== before.wave) this.book.nextWave();
    if (jobMachine.isTerminal(stored.status)) await this.settleEnd();
    this.kick();
  }

  /** An abort rule tripped: the job ends ABORTED and its PENDING executions CANCELED. */
  private async abort(reason: JobReason): Promise<void> {
    const now = this.parts.clock.now();
    if (!(await this.ledger.move("abort", { reason, finishedAt: now }))) return;
    const canceled = await this.parts.store.jobs.cancelExecutions(this.job.id, ["PENDING"], now);
    this.book.counts.PENDING -= canceled;
    this.book.counts.CANCELED += canceled;
    await this.settleEnd();
  }

  /**
   * Once per runner, when the job has ended (aborted here, or canceled by an operator on any
   * node): counts re-read (PENDING went CANCELED in the store), QUEUED commands canceled
   * through the broker (their events cancel the executions), and after a forced cancel the
   * sent ones CANCELED at once (their results are ignored).
   */
  private async settleEnd(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.book.recount(this.job);
    const { reason } = this.job;
    const force = reason?.type === "operator" && reason.force === true;
    for (const [commandId, tracked] of [...this.book.inFlight]) {
      if (tracked.status === "QUEUED") await this.parts.broker.cancel(commandId).catch(() => undefined);
      else if (force && SENT_STATUSES.includes(tracked.status))
        await this.perDevice.run(tracked.deviceId, async () => {
          if (!this.book.inFlight.has(commandId)) return;
          const error = { code: CloudErrorCode.COMMAND_CANCELED, message: "the job was canceled" };
          await this.transition(commandId, tracked, { status: "CANCELED", error });
        });
    }
    this.ledger.announce();
    this.retireIfIdle();
  }

  private wakeAt(at: number): void {
    if (this.closed || at >= this.wakeTarget) return;
    const { clock } = this.parts;
    if (this.wakeTimer !== undefined) clock.clearTimeout(this.wakeTimer);
    this.wakeTarget = at;
    this.wakeTimer = clock.setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeTarget = Number.POSITIVE_INFINITY;
        this.kick();
      },
      Math.max(0, at - clock.now()),
    );
  }

  /** A finished job with nothing in flight needs no runner. */
  private retireIfIdle(): void {
    if (jobMachine.isTerminal(this.job.status) && this.book.inFlight.size === 0) {
      this.close();
      this.parts.done(this.job.id);
    }
  }

  private failed(error: unknown): void {
    this.parts.logger.warn({ jobId: this.job.id, err: String(error) }, "job driver step failed");
  }

  /** Stops the timers; what is in flight is picked up by the next runner of this job (`open`). */
  close(): void {
    this.closed = true;
    const { clock } = this.parts;
    if (this.wakeTimer !== undefined) clock.clearTimeout(this.wakeTimer);
    if (this.pollTimer !== undefined) clock.clearInterval(this.pollTimer);
  }
}
