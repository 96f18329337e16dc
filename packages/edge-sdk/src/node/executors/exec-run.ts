import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonValue } from "@cloudedge/protocol";
import { ExecutorError } from "../../errors.js";
import { isRunning, type ProcessIdentity } from "../process-identity.js";
import { EXEC_WRAPPER } from "./exec-wrapper.js";

/** What an exec run is told to do; `spec.json` in its run dir. */
export interface RunSpec {
  argv: string[];
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  timeoutMs: number;
  maxOutput: number;
  /** The allowlisted name, for operators reading the run dir. */
  name: string;
  /** What a restarted agent does with the run when it is still going. */
  onAgentRestart: "await" | "kill";
}

/** `exit.json`, written by the wrapper when the program ended (or could not start). */
interface ExitRecord {
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  killed?: boolean;
  stdoutTruncated?: boolean;
  stderrTruncated?: boolean;
  durationMs?: number;
  error?: string;
}

const POLL_MS = 200;
/** How long a restarted agent waits for a wrapper it may have just started to write its pid. */
const PID_GRACE_MS = 5_000;
/** After SIGTERM, how long the wrapper has to kill the program and record it before SIGKILL. */
const KILL_GRACE_MS = 2_000;
/** Finished run dirs older than this are left-overs (the dedupe table keeps results 24 h). */
const STALE_MS = 86_400_000;
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The runs of exec commands, one directory each (spec, pid, output, exit status) so that a
 * run is known from its files alone: a restarted agent (docs/operations.md, "exec runs")
 * awaits or kills a run that is still going and reports the real outcome of one that ended.
 * Without a root, each run gets a temporary directory and nothing survives a restart.
 */
export class ExecRuns {
  constructor(private readonly root: string | undefined) {
    if (root) void this.pruneStale().catch(() => {});
  }

  /** Starts `spec` for `commandId` and resolves with its outcome; `signal` kills it. */
  async start(commandId: string, spec: RunSpec, signal: AbortSignal): Promise<JsonValue> {
    const dir = await this.freshDir(commandId);
    await writeJson(join(dir, "spec.json"), { ...spec, timeoutMs: Math.min(spec.timeoutMs, MAX_TIMER_MS) });
    try {
      const wrapper = spawn(process.execPath, ["-e", EXEC_WRAPPER, dir], { detached: true, stdio: "ignore" });
      const ended = await waitForChild(wrapper, dir, signal);
      const exit = (await readExit(dir)) ?? (signal.aborted ? { signal: ended, killed: true } : undefined);
      if (!exit)
        throw new ExecutorError("executor_error", `the exec wrapper of '${spec.name}' died (${ended})`);
      return await outcome(dir, exit);
    } finally {
      if (!this.root) await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * After a restart: the outcome of the run of `commandId`, awaiting it (or killing it first,
   * per its `onAgentRestart`) while it still goes. Undefined when there is no such run (it
   * never started, or runs are not kept). Throws ExecutorError `executor_error` when it was
   * killed on the restart or ended without a record (killed with the agent).
   */
  async resume(commandId: string, signal: AbortSignal): Promise<{ data: JsonValue } | undefined> {
    if (!this.root) return undefined;
    const dir = join(this.root, dirName(commandId));
    const spec = (await readJson(join(dir, "spec.json"))) as RunSpec | undefined;
    if (!spec) return undefined;
    let exit = await readExit(dir);
    let killedHere = false;
    if (!exit) {
      const identity = await waitForPid(dir);
      if (!identity) return undefined; // the agent died before the wrapper started
      if (isRunning(identity)) {
        killedHere = spec.onAgentRestart === "kill";
        if (killedHere) terminate(identity.pid);
        await pollUntilGone(identity, dir, signal);
      }
      exit = await readExit(dir);
    }
    if (!exit) {
      throw new ExecutorError(
        "executor_error",
        "interrupted by restart: the program ended with the agent and left no exit status",
      );
    }
    const data = await outcome(dir, exit);
    if (exit.killed && !signal.aborted) {
      // Killed on purpose here, or along with the agent (e.g. systemd stopping its cgroup).
      const how = killedHere ? "(onAgentRestart: kill)" : "with the agent";
      throw new ExecutorError(
        "executor_error",
        `interrupted by restart: the program was killed ${how}`,
        data,
      );
    }
    return { data };
  }

  /** Deletes the run's directory (once its result is stored). */
  async remove(commandId: string): Promise<void> {
    if (this.root) await rm(join(this.root, dirName(commandId)), { recursive: true, force: true });
  }

  private async freshDir(commandId: string): Promise<string> {
    if (!this.root) return mkdtemp(join(tmpdir(), "cloudedge-exec-"));
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const dir = join(this.root, dirName(commandId));
    // A new command (the dedupe table did not know it): anything there is an old left-over.
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  private async pruneStale(): Promise<void> {
    const root = this.root as string;
    for (const name of await readdir(root).catch(() => [] as string[])) {
      const info = await stat(join(root, name, "exit.json")).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > STALE_MS)
        await rm(join(root, name), { recursive: true, force: true });
    }
  }
}

/** A command id as a directory name: itself when safe, else its hash. */
function dirName(commandId: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(commandId)
    ? commandId
    : createHash("sha256").update(commandId).digest("hex").slice(0, 40);
}

/**
 * Waits for our own wrapper to exit (resolving with the signal that ended it, if any). An
 * abort asks it to kill the program and record that (then forces it); a wrapper that has not
 * written its pid yet has not started the program either, and is killed outright.
 */
function waitForChild(child: ChildProcess, dir: string, signal: AbortSignal): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let force: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (!existsSync(join(dir, "pid.json"))) return killGroup(child.pid);
      child.kill("SIGTERM");
      force = setTimeout(() => killGroup(child.pid), KILL_GRACE_MS);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      clearTimeout(force);
      signal.removeEventListener("abort", onAbort);
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      done();
      reject(
        new ExecutorError(
          "executor_error",
          `could not start the exec wrapper: ${error.code ?? error.message}`,
        ),
      );
    });
    child.once("exit", (_code, ended) => {
      done();
      resolve(ended);
    });
  });
}

/** Polls a wrapper that is not our child until it is gone (or has recorded its exit). */
async function pollUntilGone(identity: ProcessIdentity, dir: string, signal: AbortSignal): Promise<void> {
  let killAt: number | undefined;
  while (isRunning(identity) && !(await readExit(dir))) {
    if (signal.aborted && killAt === undefined) {
      terminate(identity.pid);
      killAt = Date.now() + KILL_GRACE_MS;
    }
    if (killAt !== undefined && Date.now() > killAt) killGroup(identity.pid);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function waitForPid(dir: string): Promise<ProcessIdentity | undefined> {
  const until = Date.now() + PID_GRACE_MS;
  for (;;) {
    const pid = (await readJson(join(dir, "pid.json"))) as ProcessIdentity | undefined;
    if (pid && typeof pid.pid === "number") return pid;
    if (Date.now() > until) return undefined;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function terminate(pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // already gone
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** The result data of an ended run (what `exec` returns), or ExecutorError when it never started. */
async function outcome(dir: string, exit: ExitRecord): Promise<JsonValue> {
  if (exit.error !== undefined) {
    const spec = (await readJson(join(dir, "spec.json"))) as RunSpec | undefined;
    throw new ExecutorError("executor_error", `could not start '${spec?.argv[0] ?? "?"}': ${exit.error}`);
  }
  const text = (name: string) => readFile(join(dir, name), "utf8").catch(() => "");
  return {
    exitCode: exit.exitCode ?? null,
    signal: exit.signal ?? null,
    timedOut: exit.timedOut === true,
    stdout: await text("stdout"),
    stderr: await text("stderr"),
    stdoutTruncated: exit.stdoutTruncated === true,
    stderrTruncated: exit.stderrTruncated === true,
    durationMs: exit.durationMs ?? 0,
  };
}

function readExit(dir: string): Promise<ExitRecord | undefined> {
  return readJson(join(dir, "exit.json")) as Promise<ExitRecord | undefined>;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined; // absent, or torn by a crash mid-write (files are renamed into place)
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, "w", 0o600);
  try {
    await handle.writeFile(JSON.stringify(value), "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
