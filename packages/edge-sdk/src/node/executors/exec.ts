import { spawn } from "node:child_process";
import type { JsonValue } from "@cloudedge/protocol";
import { ExecutorError } from "../../errors.js";
import { defineExecutor, type Executor } from "../../executor.js";

/** One declared parameter of an allowlisted command. */
export interface ExecParam {
  /** Allowed values; default `^[A-Za-z0-9_.:/@+=,-]{1,256}$` and never starting with "-". */
  pattern?: RegExp;
  required?: boolean;
  default?: string;
}

/** One allowlisted command: an argv template (`{name}` placeholders) and its parameters. */
export interface ExecCommand {
  argv: readonly string[];
  params?: Record<string, ExecParam>;
  /** Overrides the executor's timeout for this command. */
  timeoutMs?: number;
  cwd?: string;
  env?: Record<string, string>;
}

/** Options of execExecutor. */
export interface ExecExecutorOptions {
  /** Name → command. Anything not listed is refused (`exec_denied`); empty by default. */
  allowlist?: Record<string, ExecCommand>;
  /** Default 30 s (and never past the command's deadline). */
  timeoutMs?: number;
  /** Cap of stdout and of stderr each. Default 64 KiB. */
  maxOutputBytes?: number;
}

const DEFAULT_PARAM = /^[A-Za-z0-9_.:/@+=,-]{1,256}$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `exec`: runs only allowlisted names, each mapped to an argv template — never a shell.
 * Params `{name, args?: {param: value}}`. Returns exit code, signal, stdout/stderr (capped
 * and marked truncated) and whether it timed out.
 */
export function execExecutor(options: ExecExecutorOptions = {}): Executor {
  const allowlist = new Map(Object.entries(options.allowlist ?? {}));
  const maxOutput = options.maxOutputBytes ?? 64 * 1024;
  return defineExecutor("exec", async (params, context) => {
    const { name, args } = readParams(params);
    const command = allowlist.get(name);
    if (!command)
      throw new ExecutorError("exec_denied", `'${name.slice(0, 64)}' is not in the exec allowlist`);
    const argv = expand(command, args);
    const timeoutMs = Math.min(command.timeoutMs ?? options.timeoutMs ?? 30_000, context.timeoutMs);
    return run(argv, { timeoutMs, maxOutput, signal: context.signal, cwd: command.cwd, env: command.env });
  });
}

function readParams(params: JsonValue | undefined): { name: string; args: Record<string, string> } {
  const p = params as { name?: unknown; args?: unknown } | null | undefined;
  if (!p || typeof p !== "object" || typeof p.name !== "string" || p.name.length === 0) {
    throw new ExecutorError("invalid_params", "exec needs {name, args?}");
  }
  const args: Record<string, string> = {};
  if (p.args !== undefined) {
    if (typeof p.args !== "object" || p.args === null || Array.isArray(p.args)) {
      throw new ExecutorError("invalid_params", "args must be an object of strings");
    }
    for (const [key, value] of Object.entries(p.args)) {
      if (typeof value !== "string" && typeof value !== "number") {
        throw new ExecutorError("invalid_params", `argument '${key.slice(0, 64)}' must be a string`);
      }
      args[key] = String(value);
    }
  }
  return { name: p.name, args };
}

function expand(command: ExecCommand, args: Record<string, string>): string[] {
  const declared = command.params ?? {};
  for (const key of Object.keys(args)) {
    if (!Object.hasOwn(declared, key))
      throw new ExecutorError("invalid_params", `undeclared argument '${key.slice(0, 64)}'`);
  }
  const values: Record<string, string> = {};
  for (const [key, spec] of Object.entries(declared)) {
    const value = Object.hasOwn(args, key) ? args[key] : spec.default;
    if (value === undefined) {
      if (spec.required !== false) throw new ExecutorError("invalid_params", `missing argument '${key}'`);
      continue;
    }
    const pattern = spec.pattern ?? DEFAULT_PARAM;
    pattern.lastIndex = 0;
    // An argument never becomes an option of the program unless its pattern says so.
    if (!pattern.test(value) || (!spec.pattern && value.startsWith("-"))) {
      throw new ExecutorError("invalid_params", `argument '${key}' is not allowed`);
    }
    values[key] = value;
  }
  const argv: string[] = [];
  for (const part of command.argv) {
    let missing = false;
    const expanded = part.replace(PLACEHOLDER, (_m, key: string) => {
      if (!Object.hasOwn(values, key)) missing = true;
      return values[key] ?? "";
    });
    // A template element made only of an absent optional parameter disappears.
    if (missing && expanded === "") continue;
    argv.push(expanded);
  }
  if (argv.length === 0) throw new ExecutorError("invalid_params", "empty command");
  return argv;
}

interface RunOptions {
  timeoutMs: number;
  maxOutput: number;
  signal: AbortSignal;
  cwd: string | undefined;
  env: Record<string, string> | undefined;
}

function run(argv: string[], options: RunOptions): Promise<JsonValue> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const stdout = new Capped(options.maxOutput);
    const stderr = new Capped(options.maxOutput);
    let timedOut = false;
    const child = spawn(argv[0] as string, argv.slice(1), {
      shell: false,
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = () => kill();
    options.signal.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
      reject(
        new ExecutorError("executor_error", `could not start '${argv[0]}': ${error.code ?? error.message}`),
      );
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
      resolve({
        exitCode: code,
        signal: signal ?? null,
        timedOut,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        durationMs: Date.now() - started,
      });
    });
  });
}

/** Keeps the first `max` bytes of a stream and notes whether more came. */
class Capped {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
