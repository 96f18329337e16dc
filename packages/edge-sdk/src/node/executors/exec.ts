import { ExecutorError } from "../../errors.js";
import type { ExecutionContext, Executor } from "../../executor.js";
import {
  type CompiledParam,
  compileParams,
  type ExecParam,
  expandArgv,
  readExecParams,
} from "./exec-args.js";
import { ExecRuns } from "./exec-run.js";
import { ExecSlots } from "./exec-slots.js";

export type { ExecParam } from "./exec-args.js";

/** One allowlisted command: an argv template (`{name}` placeholders) and its parameters. */
export interface ExecCommand {
  argv: readonly string[];
  params?: Record<string, ExecParam>;
  /** Overrides the executor's timeout for this command. */
  timeoutMs?: number;
  cwd?: string;
  env?: Record<string, string>;
  /**
   * When the agent restarts while this command's program still runs: `await` it and report
   * its real outcome (default), or `kill` it and report `executor_error` "interrupted by
   * restart" with what it had written.
   */
  onAgentRestart?: "await" | "kill";
}

/** Options of execExecutor. */
export interface ExecExecutorOptions {
  /** Name → command. Anything not listed is refused (`exec_denied`); empty by default. */
  allowlist?: Record<string, ExecCommand>;
  /** Default 30 s (and never past the command's deadline). */
  timeoutMs?: number;
  /** Cap of stdout and of stderr each. Default 64 KiB. */
  maxOutputBytes?: number;
  /**
   * Where runs are kept (pid, output, exit status; one directory per command), so a
   * restarted agent can await a run that outlived it and report its real outcome. Without
   * it, runs use temporary directories and a restart answers "interrupted by restart".
   */
  runDir?: string;
  /**
   * Programs run at once; further commands wait (their deadline keeps running). Default 4:
   * a burst of commands must not start dozens of processes on a small device.
   */
  maxConcurrent?: number;
}

interface Allowed extends ExecCommand {
  declared: Map<string, CompiledParam>;
}

/**
 * `exec`: runs only allowlisted names, each mapped to an argv template — never a shell.
 * Params `{name, args?: {param: value}}`; each argument must match its pattern as a whole
 * and may start with "-" only when declared so. Returns exit code, signal, stdout/stderr
 * (capped and marked truncated) and whether it timed out. Patterns are compiled here, so a
 * bad one throws TypeError at start-up.
 */
export function execExecutor(options: ExecExecutorOptions = {}): Executor {
  const allowlist = new Map<string, Allowed>(
    Object.entries(options.allowlist ?? {}).map(([name, command]) => {
      if (command.onAgentRestart !== undefined && !["await", "kill"].includes(command.onAgentRestart))
        throw new TypeError(`exec '${name}': onAgentRestart must be "await" or "kill"`);
      return [name, { ...command, declared: compileParams(command.params) }];
    }),
  );
  const maxOutput = options.maxOutputBytes ?? 64 * 1024;
  const runs = new ExecRuns(options.runDir);
  const slots = new ExecSlots(options.maxConcurrent ?? 4);
  return {
    method: "exec",
    async execute(params, context) {
      const { name, args } = readExecParams(params);
      const command = allowlist.get(name);
      if (!command)
        throw new ExecutorError("exec_denied", `'${name.slice(0, 64)}' is not in the exec allowlist`);
      const argv = expandArgv(command.argv, command.declared, args);
      const queuedAt = Date.now();
      const release = await slots.acquire(context.signal);
      try {
        // The time spent waiting for a slot comes off the command's deadline.
        const left = context.timeoutMs - (Date.now() - queuedAt);
        const timeoutMs = Math.max(1, Math.min(command.timeoutMs ?? options.timeoutMs ?? 30_000, left));
        const spec = {
          argv,
          cwd: command.cwd,
          env: command.env,
          timeoutMs,
          maxOutput,
          name,
          onAgentRestart: command.onAgentRestart ?? "await",
        };
        return await settle(runs, context, () => runs.start(context.commandId, spec, context.signal));
      } finally {
        release();
      }
    },
    async resume(context) {
      return settle(runs, context, () => runs.resume(context.commandId, context.signal));
    },
  };
}

/** Runs `work`; the run dir goes once the result is stored (at once when the command was aborted). */
async function settle<T>(runs: ExecRuns, context: ExecutionContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    if (context.signal.aborted) await runs.remove(context.commandId);
    else context.afterResult(() => runs.remove(context.commandId));
  }
}
