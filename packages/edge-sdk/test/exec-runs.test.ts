import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionContext } from "../src/executor.js";
import { execExecutor } from "../src/node/executors/exec.js";

// The runs of exec commands kept in a run dir, as a restarted agent finds them (issue #20 point 3).
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edge-exec-runs-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(commandId: string, signal = new AbortController().signal) {
  const after: Array<() => unknown> = [];
  const ctx: ExecutionContext = {
    commandId,
    method: "exec",
    signal,
    deadline: Date.now() + 60_000,
    timeoutMs: 60_000,
    afterResult: (fn) => after.push(fn),
  };
  return { ctx, after };
}

/** An executor over `runDir` whose `job` sleeps, then appends a line to `marker` and prints. */
function executor(runDir: string, marker: string, onAgentRestart?: "await" | "kill") {
  const script = `setTimeout(() => { require("fs").appendFileSync(${JSON.stringify(marker)}, "ran\\n"); console.log("done"); process.exit(4); }, 600)`;
  return execExecutor({
    runDir,
    allowlist: {
      job: { argv: [process.execPath, "-e", script], ...(onAgentRestart ? { onAgentRestart } : {}) },
    },
  });
}

describe("exec runs across an agent restart", () => {
  it("a run still going is awaited by the next process: its real exit code and output", async () => {
    const runDir = join(dir, "await");
    const marker = join(dir, "await.marker");
    const first = executor(runDir, marker).execute({ name: "job" }, context("c1").ctx);
    await expect.poll(() => readFile(join(runDir, "c1", "pid.json"), "utf8").catch(() => "")).not.toBe("");
    // A second executor on the same run dir — the restarted agent — is not the wrapper's parent.
    const { ctx, after } = context("c1");
    const resumed = await executor(runDir, marker).resume?.(ctx);
    expect(resumed).toEqual({
      data: expect.objectContaining({ exitCode: 4, signal: null, timedOut: false, stdout: "done\n" }),
    });
    await first;
    expect(await readFile(marker, "utf8")).toBe("ran\n");
    // Once the result is stored, the run dir goes.
    for (const fn of after) await fn();
    await expect(readFile(join(runDir, "c1", "spec.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a run that ended while no agent was there reports how it ended", async () => {
    const runDir = join(dir, "ended");
    const marker = join(dir, "ended.marker");
    const { ctx } = context("c2");
    await executor(runDir, marker).execute({ name: "job" }, ctx); // its afterResult (the cleanup) never ran
    expect(await executor(runDir, marker).resume?.(context("c2").ctx)).toMatchObject({
      data: { exitCode: 4, stdout: "done\n" },
    });
    expect(await readFile(marker, "utf8")).toBe("ran\n");
  });

  it('onAgentRestart: "kill" kills a run still going and says so', async () => {
    const runDir = join(dir, "kill");
    const marker = join(dir, "kill.marker");
    const first = executor(runDir, marker, "kill").execute({ name: "job" }, context("c3").ctx);
    await expect.poll(() => readFile(join(runDir, "c3", "pid.json"), "utf8").catch(() => "")).not.toBe("");
    await expect(executor(runDir, marker, "kill").resume?.(context("c3").ctx)).rejects.toMatchObject({
      code: "executor_error",
      message: "interrupted by restart: the program was killed (onAgentRestart: kill)",
      details: { signal: "SIGKILL", exitCode: null },
    });
    await first;
    await expect(readFile(marker, "utf8")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a run killed along with the agent (its wrapper got SIGTERM) reports that, with its output so far", async () => {
    const runDir = join(dir, "with-agent");
    const marker = join(dir, "with-agent.marker");
    const first = executor(runDir, marker).execute({ name: "job" }, context("c4").ctx);
    await expect.poll(() => readFile(join(runDir, "c4", "pid.json"), "utf8").catch(() => "")).not.toBe("");
    // What systemd does to the agent's cgroup when the agent dies (KillMode=control-group).
    process.kill(JSON.parse(await readFile(join(runDir, "c4", "pid.json"), "utf8")).pid, "SIGTERM");
    await first;
    await expect(executor(runDir, marker).resume?.(context("c4").ctx)).rejects.toMatchObject({
      code: "executor_error",
      message: "interrupted by restart: the program was killed with the agent",
      details: { signal: "SIGKILL" },
    });
  });

  it("no run dir: unknown (never started); a wrapper gone without an exit record: executor_error", async () => {
    const runDir = join(dir, "lost");
    const exec = executor(runDir, join(dir, "lost.marker"));
    expect(await exec.resume?.(context("never").ctx)).toBeUndefined();
    await mkdir(join(runDir, "gone"), { recursive: true });
    await writeFile(join(runDir, "gone", "spec.json"), JSON.stringify({ argv: ["x"], name: "job" }));
    // A pid that exists but started at another time (a reused pid) counts as gone.
    await writeFile(
      join(runDir, "gone", "pid.json"),
      JSON.stringify({ pid: process.pid, start: "1", bootId: null }),
    );
    await expect(exec.resume?.(context("gone").ctx)).rejects.toMatchObject({
      code: "executor_error",
      message: "interrupted by restart: the program ended with the agent and left no exit status",
    });
  });
});
