import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { System } from "../support/system.js";

/**
 * Issue #20 point 3: the agent is SIGKILLed (its whole process group) while exec commands
 * run. Their programs live on in their own session; the restarted agent awaits the one
 * declared `await` and reports its real outcome, and kills the one declared `kill`.
 */
describe("fault: agent SIGKILL mid-exec (server + agent processes)", () => {
  let system: System;
  let markers: string;
  // Each program sleeps, then appends a line to its marker file and prints.
  const job = (seconds: number, marker: string) => [
    "/bin/sh",
    "-c",
    `sleep ${seconds}; echo ran >> "$1"; echo finished; exit 7`,
    "sh",
    marker,
  ];

  beforeAll(async () => {
    system = new System((dir) => ({
      statusIntervalMs: 5000,
      exec: {
        allowlist: {
          slow: { argv: job(8, join(dir, "slow.marker")), timeoutMs: 60_000 },
          "slow-kill": { argv: job(30, join(dir, "kill.marker")), timeoutMs: 60_000, onAgentRestart: "kill" },
        },
      },
    }));
    markers = system.dir;
    await system.start();
  }, 240_000);

  afterAll(async () => {
    await system?.stop();
  });

  it("the command ends with the program's real exit code and output, run exactly once", async () => {
    const slow = await system.command({ method: "exec", params: { name: "slow" }, timeoutMs: 60_000 });
    const kill = await system.command({ method: "exec", params: { name: "slow-kill" }, timeoutMs: 60_000 });
    expect([slow.status, kill.status]).toEqual([202, 202]);
    // Both programs started: their wrappers wrote their pids into the agent's data dir.
    await expect
      .poll(
        () => [slow, kill].every((c) => existsSync(join(system.agentDir, "exec", c.body.id, "pid.json"))),
        {
          timeout: 20_000,
        },
      )
      .toBe(true);
    expect((await system.commandRecord(slow.body.id)).status).toBe("DELIVERED");

    system.agent.kill("SIGKILL");
    await system.agent.exited;
    await system.startAgent();

    await expect
      .poll(async () => (await system.commandRecord(slow.body.id)).status, { timeout: 40_000, interval: 250 })
      .toBe("SUCCEEDED");
    expect((await system.commandRecord(slow.body.id)).result).toMatchObject({
      exitCode: 7,
      signal: null,
      timedOut: false,
      stdout: "finished\n",
    });
    expect(readFileSync(join(markers, "slow.marker"), "utf8")).toBe("ran\n");

    await expect
      .poll(async () => (await system.commandRecord(kill.body.id)).status, { timeout: 20_000, interval: 250 })
      .toBe("FAILED");
    expect((await system.commandRecord(kill.body.id)).error).toMatchObject({
      code: "executor_error",
      message: "interrupted by restart: the program was killed (onAgentRestart: kill)",
    });
    expect(existsSync(join(markers, "kill.marker"))).toBe(false);
    // The results are stored: the run dirs are gone.
    await expect
      .poll(() => existsSync(join(system.agentDir, "exec", slow.body.id)), { timeout: 5_000 })
      .toBe(false);
  });
});
