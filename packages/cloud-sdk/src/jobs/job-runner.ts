import { isTerminalStatus, type JobEvent as JobMachineEvent, jobMachine } from "@cloudedge/protocol";
import type { CommandBroker } from "../broker/command-broker.js";
import { CommandFailedError } from "../broker/command-errors.js";
import { CloudErrorCode, isCloudError } from "../errors.js";
import type { CloudEvent } from "../events.js";
import type { CommandRecord, Store } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import { KeyedQueue } from "../util/keyed-queue.js";
import type { Logger } from "../util/logger.js";
import {
  currentRate,
  neededSuccesses,
  RatePacer,
  REJECTION_CODES,
  trippedRule,
  waveSizes,
} from "./job-rules.js";
import { resolveTargets } from "./job-targets.js";
import {
  type ExecutionCounts,
  type ExecutionStatus,
  emptyCounts,
  IN_FLIGHT_STATUSES,
  isFinishedExecution,
  type Job,
  type JobExecution,
  type JobPatch,
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

/** An execution in flight: dispatched, its command not ended. */
interface Tracked {
  deviceId: string;
  status: ExecutionStatus;
  wave: number;
  /** broker.send is under way: the poll must not send it again meanwhile. */
  sending: boolean;
}

/** Executions whose command may still run on the device once the job ended. */
const SENT_STATUSES: readonly ExecutionStatus[] = ["SENT", "DELIVERED"];

/**
 * Drives one job: resolves its targets into PENDING executions, dispatches them as commands
 * through the broker under the rollout (maxInFlight, rate, waves), mirrors each command's
 * status onto its execution, and applies the abort rules. Holds only what is in flight
 * (≤ maxInFlight executions) and live counts; everything else is paged from the store, so
 * a restarted runner (`open`) resumes exactly where the store says the job stands.
 */
export class JobRunner {
  /** Live counts per status (the store's, kept current by this runner's own writes). */
  counts: ExecutionCounts = emptyCounts();
  private waveCounts: ExecutionCounts = emptyCounts();
  private rejected = 0;
  private readonly inFlight = new Map<string, Tracked>();
  private readonly pacer = new RatePacer();
  private readonly perDevice = new KeyedQueue();
  private wakeTimer: unknown;
  private wakeTarget = Number.POSITIVE_INFINITY;
  private pollTimer: unknown;
  private pumping = false;
  private again = false;
  private closed = false;

  constructor(
    public job: Job,
    private readonly parts: RunnerParts,
  ) {}

  /** Loads the live figures and what is in flight from the store, and starts driving. */
  async open(): Promise<void> {
    const { jobs } = this.parts.store;
    this.counts = await jobs.countExecutions(this.job.id);
    if (this.job.waves) this.waveCounts = await jobs.countExecutions(this.job.id, this.job.wave);
    this.rejected = await this.countRejected();
    for await (const e of this.executions(IN_FLIGHT_STATUSES)) {
      if (e.commandId === null) continue;
      this.inFlight.set(e.commandId, {
        deviceId: e.deviceId,
        status: e.status,
        wave: e.wave ?? 0,
        sending: false,
      });
    }
    // Outcomes reached while no runner watched (or a command never sent: cut off by a restart).
    await this.reconcile();
    this.pollTimer = this.parts.clock.setInterval(
      () => void this.reconcile().catch(() => {}),
      this.parts.pollMs,
    );
    this.kick();
  }

  private async *executions(status: readonly ExecutionStatus[]): AsyncGenerator<JobExecution> {
    let after: string | undefined;
    do {
      const page = await this.parts.store.jobs.listExecutions(this.job.id, {
        status: [...status],
        limit: 1000,
        ...(after ? { after } : {}),
      });
      yield* page.items;
      after = page.nextCursor;
    } while (after);
  }

  private async countRejected(): Promise<number> {
    if (!this.job.abort.some((r) => r.on === "REJECTED")) return 0;
    let rejected = 0;
    for await (const e of this.executions(["FAILED"]))
      if (REJECTION_CODES.has(e.error?.code ?? "")) rejected += 1;
    return rejected;
  }

  /** A command changed (any node): mirror it onto its execution, if it is one of ours. */
  observe(command: CommandRecord): void {
    const tracked = this.inFlight.get(command.id);
    if (!tracked) return;
    void this.perDevice.run(tracked.deviceId, () => this.apply(command)).catch((error) => this.failed(error));
  }

  private async apply(command: CommandRecord): Promise<void> {
    const tracked = this.inFlight.get(command.id);
    if (!tracked || tracked.status === command.status) return;
    const terminal = isTerminalStatus(command.status);
    const updated = await this.parts.store.jobs.transitionExecution(
      this.job.id,
      tracked.deviceId,
      tracked.status,
      {
        status: command.status,
        ...(terminal ? { error: command.error } : {}),
        updatedAt: this.parts.clock.now(),
      },
    );
    if (!updated) {
      // Moved by someone else (a forced cancel): whatever the device says now is ignored.
      const current = await this.parts.store.jobs.getExecution(this.job.id, tracked.deviceId);
      if (!current || isFinishedExecution(current.status)) this.inFlight.delete(command.id);
      else tracked.status = current.status;
      return;
    }
    this.moved(tracked, command.id, updated);
    if (terminal) await this.outcome();
  }

  /** Bookkeeping of an execution this runner moved: counts, tracking, the event. */
  private moved(tracked: Tracked, commandId: string, updated: JobExecution): void {
    this.count(tracked.status, updated.status, tracked.wave);
    tracked.status = updated.status;
    if (isFinishedExecution(updated.status)) {
      this.inFlight.delete(commandId);
      if (updated.status === "FAILED" && REJECTION_CODES.has(updated.error?.code ?? "")) this.rejected += 1;
    }
    this.publishExecution(updated);
  }

  private count(from: ExecutionStatus, to: ExecutionStatus, wave: number | null): void {
    this.counts[from] -= 1;
    this.counts[to] += 1;
    if (this.job.waves && wave === this.job.wave) {
      // PENDING executions belong to no wave yet: a claim only adds to the wave.
      if (from !== "PENDING") this.waveCounts[from] -= 1;
      this.waveCounts[to] += 1;
    }
  }

  /** An execution ended: check the abort rules, then dispatch what may go now. */
  private async outcome(): Promise<void> {
    const { status } = this.job;
    if (status === "IN_PROGRESS" || status === "PAUSED") {
      const tripped = trippedRule(this.job.abort, this.counts, this.rejected);
      if (tripped) await this.end("abort", { type: "abort_rule", ...tripped }, false);
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
      await this.move("start", { startedAt: now });
    }
    if (jobMachine.isTerminal(this.job.status)) return this.retireIfIdle();
    if (this.job.status !== "IN_PROGRESS") return;
    if (this.job.total === null) await this.resolve();
    if (this.counts.PENDING === 0 && this.inFlight.size === 0) {
      await this.move("complete", { finishedAt: now });
      return this.retireIfIdle();
    }
    let allowance = Math.min(this.job.rollout.maxInFlight - this.inFlight.size, this.counts.PENDING);
    if (this.job.waves) allowance = Math.min(allowance, await this.waveAllowance(now));
    if (allowance <= 0 || this.job.status !== "IN_PROGRESS") return;
    const granted = this.pacer.take(now, currentRate(this.job.rollout, this.counts.SUCCEEDED), allowance);
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

  /** The counts again from the store (after rows vanished with their deleted devices). */
  private async recount(): Promise<void> {
    const { jobs } = this.parts.store;
    this.counts = await jobs.countExecutions(this.job.id);
    if (this.job.waves) this.waveCounts = await jobs.countExecutions(this.job.id, this.job.wave);
    if (this.counts.PENDING === 0) this.again = true;
    else this.wakeAt(this.parts.clock.now() + 1_000);
  }

  /** Snapshot targets → PENDING executions, then the total (idempotent: a restart may run it again). */
  private async resolve(): Promise<void> {
    const { store, clock } = this.parts;
    await resolveTargets(store, this.job.id, this.job.targets, clock.now());
    this.counts = await store.jobs.countExecutions(this.job.id);
    const total = Object.values(this.counts).reduce((a, b) => a + b, 0);
    await this.patch({ total });
  }

  /**
   * How many more the current wave may dispatch: its undispatched rest until it reached its
   * success threshold; then, once all of it is dispatched, it soaks and the next wave starts.
   * A wave that can no longer reach its threshold pauses the job (reason `wave_threshold`).
   */
  private async waveAllowance(now: number): Promise<number> {
    const waves = this.job.waves ?? [];
    const w = this.job.wave;
    const wave = waves[w];
    if (!wave) return Number.MAX_SAFE_INTEGER; // past the last wave (resumed by an operator)
    const size = waveSizes(waves, this.job.total ?? 0)[w] ?? 0;
    const c = this.waveCounts;
    const dispatched = Object.values(c).reduce((a, b) => a + b, 0);
    const needed = neededSuccesses(wave, size, c.SKIPPED);
    const rest = size - dispatched;
    if (c.SUCCEEDED >= needed) {
      if (rest > 0 || w === waves.length - 1) return rest;
      if (this.job.soakUntil === null) await this.patch({ soakUntil: now + wave.soakMs });
      if (now < (this.job.soakUntil as number)) {
        this.wakeAt(this.job.soakUntil as number);
        return 0;
      }
      await this.nextWave();
      this.again = true;
      return 0;
    }
    const inFlight = c.QUEUED + c.SENT + c.DELIVERED;
    if (c.SUCCEEDED + inFlight + rest < needed) {
      await this.move("pause", {
        reason: { type: "wave_threshold", wave: w, size, succeeded: c.SUCCEEDED, needed },
      });
      return 0;
    }
    return rest;
  }

  private async nextWave(): Promise<void> {
    await this.patch({ wave: this.job.wave + 1, soakUntil: null });
    this.waveCounts = emptyCounts();
  }

  private async dispatch(e: JobExecution): Promise<void> {
    const { store, clock, ids } = this.parts;
    const commandId = ids();
    const wave = this.job.wave;
    // The claim: commandId recorded before sending, so a restart sends this very command or finds it.
    const claimed = await store.jobs.transitionExecution(this.job.id, e.deviceId, "PENDING", {
      status: "QUEUED",
      commandId,
      wave,
      updatedAt: clock.now(),
    });
    if (!claimed) return; // someone else claimed it: the device gets it once
    const tracked: Tracked = { deviceId: e.deviceId, status: "PENDING", wave, sending: true };
    this.inFlight.set(commandId, tracked);
    this.moved(tracked, commandId, claimed);
    await this.send(commandId, tracked);
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
      )
        // Not through the per-device queue: without a command no event can race it, and the
        // poll calls this from inside that queue.
        await this.skip(commandId, tracked, error.code, error.message);
      else this.failed(error); // left QUEUED with its command id: the poll sends it again
    } finally {
      tracked.sending = false;
    }
  }

  /** Never sent (device disabled or deleted when its turn came): SKIPPED. */
  private async skip(commandId: string, tracked: Tracked, code: string, message: string): Promise<void> {
    const updated = await this.parts.store.jobs.transitionExecution(
      this.job.id,
      tracked.deviceId,
      tracked.status,
      {
        status: "SKIPPED",
        commandId: null,
        error: { code, message },
        updatedAt: this.parts.clock.now(),
      },
    );
    if (updated) this.moved(tracked, commandId, updated);
    else this.inFlight.delete(commandId);
    await this.outcome();
  }

  /** Reads every in-flight command from the store: lost events, and commands a restart cut off before sending. */
  private async reconcile(): Promise<void> {
    for (const [commandId, tracked] of [...this.inFlight]) {
      if (tracked.sending) continue;
      const command = await this.parts.store.commands.get(commandId);
      if (command) this.observe(command);
      else await this.perDevice.run(tracked.deviceId, () => this.commandMissing(commandId, tracked));
    }
  }

  /** No such command: never sent (send it now, with its recorded id), or gone with its deleted device. */
  private async commandMissing(commandId: string, tracked: Tracked): Promise<void> {
    const execution = await this.parts.store.jobs.getExecution(this.job.id, tracked.deviceId);
    if (execution?.status === "QUEUED" && execution.commandId === commandId)
      return this.send(commandId, tracked);
    if (execution && !isFinishedExecution(execution.status)) return;
    this.inFlight.delete(commandId);
    await this.recount();
    this.kick();
  }

  /** Operator: stop dispatching (what is in flight goes on). */
  async pause(): Promise<void> {
    await this.move("pause", { reason: { type: "operator", action: "pause" } });
  }

  /** Operator: dispatch again; a job a wave paused goes on with the next wave. */
  async resume(): Promise<void> {
    const advance = this.job.reason?.type === "wave_threshold";
    const started = this.job.startedAt === null ? { startedAt: this.parts.clock.now() } : {};
    if (await this.move("resume", { reason: null, ...started })) {
      if (advance) await this.nextWave();
      this.kick();
    }
  }

  /** Operator: end the job CANCELED; `force` also cancels executions already sent (their results are ignored). */
  async cancel(force: boolean): Promise<void> {
    await this.end("cancel", { type: "operator", action: "cancel", ...(force ? { force } : {}) }, force);
  }

  /**
   * Ends the job (cancel, abort): PENDING executions CANCELED in one write, QUEUED commands
   * canceled through the broker (their events cancel the executions), and with `force` the
   * sent ones CANCELED at once.
   */
  private async end(event: "cancel" | "abort", reason: JobReason, force: boolean): Promise<void> {
    const now = this.parts.clock.now();
    if (!(await this.move(event, { reason, finishedAt: now }))) return;
    const canceled = await this.parts.store.jobs.cancelExecutions(this.job.id, ["PENDING"], now);
    this.counts.CANCELED += canceled;
    this.counts.PENDING -= canceled;
    for (const [commandId, tracked] of [...this.inFlight]) {
      if (tracked.status === "QUEUED") await this.parts.broker.cancel(commandId).catch(() => undefined);
      else if (force && SENT_STATUSES.includes(tracked.status))
        await this.perDevice.run(tracked.deviceId, () => this.forceCancel(commandId, tracked));
    }
    this.publishJob();
    this.retireIfIdle();
  }

  private async forceCancel(commandId: string, tracked: Tracked): Promise<void> {
    if (!this.inFlight.has(commandId)) return;
    const updated = await this.parts.store.jobs.transitionExecution(
      this.job.id,
      tracked.deviceId,
      tracked.status,
      {
        status: "CANCELED",
        error: { code: CloudErrorCode.COMMAND_CANCELED, message: "the job was canceled" },
        updatedAt: this.parts.clock.now(),
      },
    );
    if (updated) this.moved(tracked, commandId, updated);
  }

  /** A job-machine event with a compare-and-set on the stored status; false when not allowed or lost. */
  private async move(event: JobMachineEvent, patch: Omit<JobPatch, "updatedAt">): Promise<boolean> {
    const status = jobMachine.next(this.job.status, event);
    if (status === undefined) return false;
    const updated = await this.parts.store.jobs.update(this.job.id, this.job.status, {
      ...patch,
      status,
      updatedAt: this.parts.clock.now(),
    });
    if (!updated) {
      this.job = (await this.parts.store.jobs.get(this.job.id)) ?? this.job;
      return false;
    }
    this.job = updated;
    this.publishJob();
    return true;
  }

  /** Changes progress fields (total, wave, soak) without a status change. */
  private async patch(patch: Omit<JobPatch, "updatedAt">): Promise<void> {
    const updated = await this.parts.store.jobs.update(this.job.id, this.job.status, {
      ...patch,
      updatedAt: this.parts.clock.now(),
    });
    this.job = updated ?? (await this.parts.store.jobs.get(this.job.id)) ?? this.job;
    if (updated) this.publishJob();
  }

  private publishJob(): void {
    const { job } = this;
    this.parts.publish({ type: "job", jobId: job.id, at: job.updatedAt, job, counts: { ...this.counts } });
  }

  private publishExecution(execution: JobExecution): void {
    this.parts.publish({
      type: "job.execution",
      jobId: execution.jobId,
      deviceId: execution.deviceId,
      at: execution.updatedAt,
      execution,
    });
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
    if (jobMachine.isTerminal(this.job.status) && this.inFlight.size === 0) {
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
