import type { JsonValue } from "@cloudedge/protocol";

/** What an executor returns: the result data, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: an async executor that returns nothing is Promise<void>
export type ExecutorResult = JsonValue | undefined | void;

/** What an executor gets besides its params. */
export interface ExecutionContext {
  /** The command id (the dedupe key). */
  commandId: string;
  method: string;
  /** Aborts when the command's time is up (`cmd.timeoutMs`, timed locally) or the client closes. */
  signal: AbortSignal;
  /** The command's deadline, hub time (§6.1). */
  deadline: number;
  /** Time left when the command arrived. */
  timeoutMs: number;
  /**
   * Runs `fn` once the result has been stored and handed to the socket — for actions that
   * must come after the answer, like a reboot.
   */
  afterResult(fn: () => void | Promise<void>): void;
}

/**
 * Runs one command method. Return the result data (any JSON, or undefined); throw an
 * ExecutorError for a specific error code, anything else fails as `executor_error`.
 */
export interface Executor {
  readonly method: string;
  execute(params: JsonValue | undefined, context: ExecutionContext): Promise<ExecutorResult>;
  /**
   * After a restart, for a command this method was running when the previous process died
   * (§6.2): its real outcome — awaited if the work outlived the process — as `{data}`, or
   * an ExecutorError. Undefined when the executor knows nothing of it. Without `resume` (or
   * when it answers undefined) the command is answered `executor_error` "interrupted by
   * restart"; it is never run again.
   */
  resume?(context: ExecutionContext): Promise<{ data: ExecutorResult } | undefined>;
}

/** Builds an executor from a method name and a function. */
export function defineExecutor(
  method: string,
  execute: (
    params: JsonValue | undefined,
    context: ExecutionContext,
  ) => Promise<ExecutorResult> | ExecutorResult,
): Executor {
  return { method, execute: async (params, context) => execute(params, context) };
}

const METHOD_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;

/** Executors by method. Methods not registered are answered `method_not_found`. */
export class ExecutorRegistry {
  private readonly executors = new Map<string, Executor>();

  /** Adds (or replaces) the executor for its method. */
  register(executor: Executor): this {
    if (!METHOD_PATTERN.test(executor.method)) throw new TypeError(`invalid method name: ${executor.method}`);
    this.executors.set(executor.method, executor);
    return this;
  }

  unregister(method: string): boolean {
    return this.executors.delete(method);
  }

  get(method: string): Executor | undefined {
    return this.executors.get(method);
  }

  methods(): string[] {
    return [...this.executors.keys()];
  }
}
