import {
  type AckPdu,
  type CmdPdu,
  DEFAULT_DOCUMENT_LIMITS,
  ErrorCode,
  encode,
  type JsonValue,
  type ResultPdu,
} from "@cloudedge/protocol";
import type { Clock } from "./clock.js";
import type { DedupeEntry, DedupeTable } from "./dedupe-table.js";
import { isErrorCode } from "./errors.js";
import type { ExecutionContext, Executor, ExecutorRegistry, ExecutorResult } from "./executor.js";

/** How a command ended, for events. */
export interface CommandOutcome {
  id: string;
  method: string;
  ok: boolean;
  /** `result.error.code` when not ok. */
  code?: string;
  durationMs: number;
}

/** What the runner needs from the client (kept narrow so it is testable alone). */
export interface CommandRunnerDeps {
  clock: Clock;
  registry: ExecutorRegistry;
  table: DedupeTable;
  /** Persists the dedupe table; resolves once written. */
  persist(): Promise<void>;
  /** Sends on the current session; false when there is none. */
  send(pdu: AckPdu | ResultPdu): boolean;
  /** Sends a result, or keeps it in the outbox while offline. */
  deliverResult(pdu: ResultPdu): void;
  /** Estimated hub time (for pruning by deadline). */
  hubNow(): number;
  /** The largest message the hub accepts (welcome.maxFrameBytes). */
  maxFrameBytes(): number;
  onReceived(info: { id: string; method: string; duplicate: boolean }): void;
  onFinished(outcome: CommandOutcome): void;
  onError(error: unknown): void;
}

const MAX_MESSAGE = 4096;
/** A resumed command gets this long past its own time: its executor enforces that time itself. */
const RESUME_GRACE_MS = 10_000;

/** What `execute` runs: a fresh command, or the outcome of one a restart interrupted. */
type Work = (executor: Executor, context: ExecutionContext) => Promise<ExecutorResult>;

/** A resumed command whose executor knows nothing of it. */
class Interrupted extends Error {}
const INTERRUPTED = "interrupted by restart";

/**
 * Commands on the device (docs/protocol.md §6.1–6.2): record before ack, ack at once, run
 * the executor with the time left as an AbortSignal, store and send the result; a
 * redelivered id is acked again and answered from the table without running again.
 */
export class CommandRunner {
  private readonly inflight = new Map<string, AbortController>();

  constructor(private readonly deps: CommandRunnerDeps) {}

  /** Commands currently running. */
  get running(): number {
    return this.inflight.size;
  }

  async handle(cmd: CmdPdu): Promise<void> {
    const { deps } = this;
    const existing = deps.table.get(cmd.id);
    if (existing) {
      // §6.2: a duplicate is acked again and never re-run; a finished one gets its stored result.
      deps.send({ type: "ack", id: cmd.id });
      deps.onReceived({ id: cmd.id, method: cmd.method, duplicate: true });
      if (existing.state === "done" && existing.result) deps.send(existing.result);
      return;
    }
    const receivedAt = deps.clock.now();
    deps.table.begin({
      id: cmd.id,
      method: cmd.method,
      receivedAt,
      deadline: cmd.deadline,
      timeoutMs: cmd.timeoutMs,
    });
    // Persist BEFORE the ack, so a crash after the ack cannot make the command run twice.
    await deps.persist().catch((error) => deps.onError(error));
    deps.send({ type: "ack", id: cmd.id });
    deps.onReceived({ id: cmd.id, method: cmd.method, duplicate: false });

    const after: Array<() => void | Promise<void>> = [];
    const result = await this.execute(cmd, after, (executor, context) =>
      executor.execute(cmd.params as JsonValue | undefined, context),
    );
    await this.complete(cmd, result, after, receivedAt);
  }

  /**
   * A command that was running when the previous process died (§6.2): never run again, but
   * its executor's `resume` may know how it ended (or await it, if the work outlived the
   * process); else it is answered `executor_error` "interrupted by restart". The result is
   * stored and sent (or kept in the outbox), like any other.
   */
  async resume(entry: DedupeEntry): Promise<void> {
    const { deps } = this;
    const left =
      entry.timeoutMs !== undefined
        ? entry.receivedAt + entry.timeoutMs - deps.clock.now()
        : entry.deadline - deps.hubNow();
    const cmd = {
      id: entry.id,
      method: entry.method,
      deadline: entry.deadline,
      timeoutMs: Math.max(0, left) + RESUME_GRACE_MS,
    };
    const after: Array<() => void | Promise<void>> = [];
    const result = deps.registry.get(entry.method)?.resume
      ? await this.execute(cmd, after, async (executor, context) => {
          const outcome = await executor.resume?.(context);
          if (!outcome) throw new Interrupted();
          return outcome.data;
        })
      : this.failure(entry.id, ErrorCode.EXECUTOR_ERROR, INTERRUPTED);
    await this.complete(cmd, result, after, entry.receivedAt);
  }

  /** Stores the result, sends it (or keeps it in the outbox), then runs the after-result work. */
  private async complete(
    cmd: { id: string; method: string },
    result: ResultPdu,
    after: Array<() => void | Promise<void>>,
    receivedAt: number,
  ): Promise<void> {
    const { deps } = this;
    deps.table.finish(cmd.id, result);
    deps.table.prune(deps.clock.now(), deps.hubNow());
    await deps.persist().catch((error) => deps.onError(error));
    deps.deliverResult(result);
    deps.onFinished({
      id: cmd.id,
      method: cmd.method,
      ok: result.ok,
      ...(result.error ? { code: result.error.code } : {}),
      durationMs: deps.clock.now() - receivedAt,
    });
    for (const fn of after) {
      try {
        await fn();
      } catch (error) {
        deps.onError(error);
      }
    }
  }

  /** Aborts every running command (the client is closing); they answer `canceled`. */
  abortAll(): void {
    for (const controller of this.inflight.values()) controller.abort(new CanceledSignal());
  }

  private async execute(
    cmd: Pick<CmdPdu, "id" | "method" | "deadline" | "timeoutMs">,
    after: Array<() => void | Promise<void>>,
    work: Work,
  ): Promise<ResultPdu> {
    const { clock, registry } = this.deps;
    const executor = registry.get(cmd.method);
    if (!executor) return this.failure(cmd.id, ErrorCode.METHOD_NOT_FOUND, `no executor for ${cmd.method}`);

    const controller = new AbortController();
    this.inflight.set(cmd.id, controller);
    // Timed with the local clock from `timeoutMs`: device and hub clocks differ (§6.1).
    const timer = clock.setTimeout(() => controller.abort(new TimeoutSignal()), cmd.timeoutMs);
    const aborted = new Promise<ResultPdu>((resolve) => {
      controller.signal.addEventListener(
        "abort",
        () => {
          const canceled = controller.signal.reason instanceof CanceledSignal;
          resolve(
            canceled
              ? this.failure(cmd.id, ErrorCode.CANCELED, "canceled: the client is closing")
              : this.failure(cmd.id, ErrorCode.TIMEOUT, `no result within ${cmd.timeoutMs} ms`),
          );
        },
        { once: true },
      );
    });
    const context: ExecutionContext = {
      commandId: cmd.id,
      method: cmd.method,
      signal: controller.signal,
      deadline: cmd.deadline,
      timeoutMs: cmd.timeoutMs,
      afterResult: (fn) => after.push(fn),
    };
    const run = (async (): Promise<ResultPdu> => {
      try {
        const data = await work(executor, context);
        return this.success(cmd.id, data);
      } catch (error) {
        return this.fromError(cmd.id, error);
      }
    })();
    try {
      // The deadline wins even over an executor that ignores its signal: never hang past it.
      const result = await Promise.race([run, aborted]);
      if (controller.signal.aborted && result.ok) after.length = 0;
      return result;
    } finally {
      clock.clearTimeout(timer);
      this.inflight.delete(cmd.id);
      if (!controller.signal.aborted) controller.abort(new CanceledSignal());
    }
  }

  private success(id: string, data: ExecutorResult): ResultPdu {
    const result: ResultPdu = {
      type: "result",
      id,
      ok: true,
      ...(data !== undefined ? { data } : {}),
      ts: this.deps.clock.now(),
    };
    try {
      encode(result, {
        limits: { maxFrameBytes: this.deps.maxFrameBytes() },
        documents: DEFAULT_DOCUMENT_LIMITS,
      });
      return result;
    } catch (error) {
      const code = (error as { code?: string }).code ?? "invalid_pdu";
      return this.failure(id, ErrorCode.EXECUTOR_ERROR, `the result could not be sent (${code})`);
    }
  }

  private fromError(id: string, error: unknown): ResultPdu {
    if (error instanceof Interrupted) return this.failure(id, ErrorCode.EXECUTOR_ERROR, INTERRUPTED);
    const e = error as { name?: unknown; code?: unknown; message?: unknown; details?: unknown };
    if (e && e.name === "ExecutorError" && isErrorCode(e.code)) {
      const result = this.failure(id, e.code, String(e.message ?? ""), e.details);
      try {
        encode(result, { documents: DEFAULT_DOCUMENT_LIMITS });
        return result;
      } catch {
        return this.failure(id, e.code, String(e.message ?? ""));
      }
    }
    const message = error instanceof Error ? error.message || error.name : String(error);
    return this.failure(id, ErrorCode.EXECUTOR_ERROR, message);
  }

  private failure(id: string, code: string, message: string, details?: unknown): ResultPdu {
    return {
      type: "result",
      id,
      ok: false,
      error: {
        code,
        message: message.slice(0, MAX_MESSAGE),
        ...(details !== undefined ? { details: details as JsonValue } : {}),
      },
      ts: this.deps.clock.now(),
    };
  }
}

/** Abort reason when the command's time is up. */
export class TimeoutSignal extends Error {
  override readonly name = "TimeoutError";
  constructor() {
    super("command timed out");
  }
}

/** Abort reason when the client closes (or the command finished and the signal is released). */
export class CanceledSignal extends Error {
  override readonly name = "AbortError";
  constructor() {
    super("command canceled");
  }
}
