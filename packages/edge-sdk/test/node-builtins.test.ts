import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isPdu, type JsonValue } from "@cloudedge/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectStatus } from "../src/collector.js";
import type { ExecutionContext, Executor } from "../src/executor.js";
import { readBootId } from "../src/node/boot-id.js";
import { execExecutor } from "../src/node/executors/exec.js";
import { ExecSlots } from "../src/node/executors/exec-slots.js";
import { logsTailExecutor } from "../src/node/executors/logs-tail.js";
import { systemExecutors } from "../src/node/executors/system.js";
import { FileStorage } from "../src/node/file-storage.js";
import { createRotatingLog } from "../src/node/rotating-log.js";
import { systemCollector } from "../src/node/system-collector.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edge-node-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(
  overrides: Partial<ExecutionContext> = {},
): ExecutionContext & { after: Array<() => unknown> } {
  const after: Array<() => unknown> = [];
  return {
    commandId: "c1",
    method: "m",
    signal: new AbortController().signal,
    deadline: Date.now() + 10_000,
    timeoutMs: 10_000,
    afterResult: (fn) => after.push(fn),
    after,
    ...overrides,
  };
}
const run = (executor: Executor, params?: JsonValue, ctx = context()) => executor.execute(params, ctx);

describe("FileStorage", () => {
  it("round-trips JSON, writes 0600 files in a 0700 dir, and removes", async () => {
    const storage = new FileStorage(join(dir, "store"));
    expect(await storage.load("token")).toBeUndefined();
    await storage.save("token", { token: "t", expiresAt: 5 });
    expect(await storage.load("token")).toEqual({ token: "t", expiresAt: 5 });
    expect((await stat(join(dir, "store", "token.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "store"))).mode & 0o777).toBe(0o700);
    await storage.remove("token");
    expect(await storage.load("token")).toBeUndefined();
    await expect(storage.save("../evil", 1)).rejects.toThrow(TypeError);
  });

  it("treats a torn file as empty rather than failing the start", async () => {
    const storage = new FileStorage(join(dir, "torn"));
    await storage.save("outbox", []);
    await writeFile(join(dir, "torn", "outbox.json"), '{"entries": [');
    expect(await storage.load("outbox")).toBeUndefined();
  });
});

describe("systemCollector", () => {
  it("reports CPU, memory, disks, uptime and load that pass the status schema", async () => {
    const data = await collectStatus([systemCollector()], { timeoutMs: 20_000 });
    expect(data.errors).toBeUndefined();
    expect(data.cpu?.cores).toBeGreaterThanOrEqual(1);
    expect(data.cpu?.load).toHaveLength(3);
    expect(data.cpu?.usagePercent).toBeGreaterThanOrEqual(0);
    expect(data.memory?.totalBytes).toBeGreaterThan(0);
    expect(data.memory?.usedBytes).toBeGreaterThan(0);
    expect((data.memory as { availableBytes?: number }).availableBytes).toBeGreaterThan(0);
    expect(data.disks?.some((d) => d.mount === "/")).toBe(true);
    expect(data.uptimeS).toBeGreaterThan(0);
    expect(data["network"]).toMatchObject({
      rxBytesPerSec: expect.any(Number),
      txBytesPerSec: expect.any(Number),
    });
    expect(isPdu("status", { type: "status", ts: Date.now(), data })).toBe(true);
  });
});

describe("system executors", () => {
  it("ping and info", async () => {
    const [ping, info] = systemExecutors({ agentVersion: "1.2.3", bootId: readBootId() });
    expect(await run(ping!)).toMatchObject({ pong: true });
    expect(await run(info!)).toMatchObject({
      agentVersion: "1.2.3",
      bootId: readBootId(),
      arch: process.arch,
    });
  });

  it("reboot answers first, then runs the configured argv", async () => {
    const marker = join(dir, "rebooted");
    const reboot = systemExecutors({
      agentVersion: "1",
      bootId: "b",
      rebootArgv: [process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "yes")`],
    })[2]!;
    const ctx = context();
    expect(await run(reboot, null, ctx)).toEqual({ issued: true, command: process.execPath });
    await expect(stat(marker)).rejects.toThrow(); // not yet: only after the result
    await ctx.after[0]!();
    await expect.poll(() => readFile(marker, "utf8").catch(() => ""), { timeout: 5_000 }).toBe("yes");
  });

  it("reboot without a configured command fails clearly", async () => {
    const reboot = systemExecutors({ agentVersion: "1", bootId: "b" })[2]!;
    await expect(run(reboot)).rejects.toMatchObject({ code: "reboot_not_configured" });
  });
});

describe("exec executor", () => {
  const exec = execExecutor({
    allowlist: {
      echo: { argv: ["/bin/echo", "{word}"], params: { word: {} } },
      greet: { argv: ["/bin/echo", "hello", "{name}"], params: { name: { required: false } } },
      flood: {
        argv: [process.execPath, "-e", "process.stdout.write('x'.repeat(200000)); process.stderr.write('e')"],
      },
      sleep: { argv: ["/bin/sleep", "10"], timeoutMs: 300 },
      fail: { argv: ["/bin/sh", "-c", "exit 3"] },
    },
    maxOutputBytes: 1024,
  });

  it("runs an allowlisted command with its argument, no shell", async () => {
    expect(await run(exec, { name: "echo", args: { word: "hi" } })).toMatchObject({
      exitCode: 0,
      stdout: "hi\n",
      stdoutTruncated: false,
      timedOut: false,
    });
    // Shell metacharacters are refused by the default pattern; with argv they would be inert anyway.
    await expect(run(exec, { name: "echo", args: { word: "$(id); rm -rf /" } })).rejects.toMatchObject({
      code: "invalid_params",
    });
    expect(await run(exec, { name: "greet" })).toMatchObject({ stdout: "hello\n" });
  });

  it("refuses anything not in the allowlist, and is denied by default", async () => {
    await expect(run(exec, { name: "rm", args: {} })).rejects.toMatchObject({ code: "exec_denied" });
    await expect(run(execExecutor(), { name: "echo" })).rejects.toMatchObject({ code: "exec_denied" });
  });

  it("refuses undeclared, missing and option-like arguments", async () => {
    await expect(run(exec, { name: "echo", args: { word: "a", extra: "b" } })).rejects.toMatchObject({
      code: "invalid_params",
    });
    await expect(run(exec, { name: "echo" })).rejects.toMatchObject({ code: "invalid_params" });
    await expect(run(exec, { name: "echo", args: { word: "--help" } })).rejects.toMatchObject({
      code: "invalid_params",
    });
    await expect(run(exec, "echo")).rejects.toMatchObject({ code: "invalid_params" });
  });

  it("caps output and marks it truncated", async () => {
    const out = (await run(exec, { name: "flood" })) as Record<string, unknown>;
    expect((out["stdout"] as string).length).toBe(1024);
    expect(out).toMatchObject({ stdoutTruncated: true, stderr: "e", stderrTruncated: false, exitCode: 0 });
  });

  it("kills at the timeout and returns the exit code otherwise", async () => {
    const started = Date.now();
    const out = await run(exec, { name: "sleep" });
    expect(out).toMatchObject({ timedOut: true, signal: "SIGKILL", exitCode: null });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await run(exec, { name: "fail" })).toMatchObject({ exitCode: 3, timedOut: false });
  });

  it("stops the child when the command's signal aborts", async () => {
    const controller = new AbortController();
    const pending = run(exec, { name: "sleep" }, context({ signal: controller.signal, timeoutMs: 60_000 }));
    controller.abort();
    expect(await pending).toMatchObject({ signal: "SIGKILL" });
  });
});

describe("exec concurrency", () => {
  it("runs at most maxConcurrent programs at once; the rest start as slots free", async () => {
    const marks = join(dir, "slots.log");
    const exec = execExecutor({
      allowlist: {
        // Writes "start N", holds the slot a moment, writes "end N".
        mark: {
          argv: [
            "/bin/sh",
            "-c",
            'echo "start $1" >> "$2"; sleep 0.3; echo "end $1" >> "$2"',
            "mark",
            "{n}",
            marks,
          ],
          params: { n: { pattern: "^[0-9]$" } },
        },
      },
      maxConcurrent: 2,
    });
    const outs = await Promise.all(
      ["1", "2", "3", "4"].map((n) =>
        run(exec, { name: "mark", args: { n } }, context({ commandId: `c${n}` })),
      ),
    );
    expect(outs.map((o) => (o as { exitCode: number }).exitCode)).toEqual([0, 0, 0, 0]);
    const lines = (await readFile(marks, "utf8")).trim().split("\n");
    let running = 0;
    let most = 0;
    for (const line of lines) {
      running += line.startsWith("start") ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(2);
    expect(lines.filter((l) => l.startsWith("start")).sort()).toEqual([
      "start 1",
      "start 2",
      "start 3",
      "start 4",
    ]);
  });

  it("hands slots out in arrival order", async () => {
    const slots = new ExecSlots(1);
    const signal = new AbortController().signal;
    const order: string[] = [];
    const release = await slots.acquire(signal);
    const later = ["b", "c"].map((name) =>
      slots.acquire(signal).then((done) => {
        order.push(name);
        done();
      }),
    );
    release();
    await Promise.all(later);
    expect(order).toEqual(["b", "c"]);
  });

  it("a command aborted while it waits for a slot never starts", async () => {
    const slots = new ExecSlots(1);
    const first = await slots.acquire(new AbortController().signal);
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    expect(slots.stats).toEqual({ running: 1, waiting: 1 });
    controller.abort(new Error("canceled"));
    await expect(waiting).rejects.toThrow("canceled");
    expect(slots.stats).toEqual({ running: 1, waiting: 0 });
    first();
    first(); // twice is harmless
    expect(slots.stats).toEqual({ running: 0, waiting: 0 });
    expect(() => new ExecSlots(0)).toThrow(TypeError);
  });
});

describe("rotating log and logs.tail", () => {
  it("rotates by size, keeps a bounded number of files, and tails the current one", async () => {
    const logDir = join(dir, "logs");
    const log = await createRotatingLog({ dir: logDir, maxBytes: 2_000, maxFiles: 3 });
    for (let i = 0; i < 200; i++) {
      log.logger.info({ i, secret: "do-not-log" }, `line ${i}`);
      if (i % 5 === 4) await log.flush(); // an agent logs a few lines at a time
    }
    await log.flush();
    // pino-roll removes old files asynchronously after a rotation.
    await expect.poll(async () => (await log.files()).length, { timeout: 5_000 }).toBeLessThanOrEqual(3);
    const files = await log.files();
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(files.at(-1)).toBe(log.currentFile());
    for (const file of files) {
      const text = await readFile(file, "utf8");
      // pino-roll rotates once a write crosses the size: a file overshoots by at most one batch.
      expect(text.length).toBeLessThan(2_000 + 5 * 120);
      expect(text).not.toContain("do-not-log");
    }
    const tail = logsTailExecutor({ file: () => log.files() });
    const out = (await run(tail, { lines: 3 })) as { lines: string[] };
    expect(out.lines).toHaveLength(3);
    expect(JSON.parse(out.lines[2]!)).toMatchObject({ i: 199, msg: "line 199" });
    await expect(run(tail, { lines: 0 })).rejects.toMatchObject({ code: "invalid_params" });
    await log.close();
  });

  it("a restart appends to the last file and still keeps at most maxFiles", async () => {
    const logDir = join(dir, "restart-logs");
    for (let run = 0; run < 3; run++) {
      const log = await createRotatingLog({ dir: logDir, maxBytes: 1_000, maxFiles: 2 });
      for (let i = 0; i < 30; i++) log.logger.info({ run, i }, "a line of about a hundred bytes");
      await log.flush();
      await log.close();
    }
    const log = await createRotatingLog({ dir: logDir, maxBytes: 1_000, maxFiles: 2 });
    await expect.poll(async () => (await log.files()).length, { timeout: 5_000 }).toBe(2);
    const files = await log.files();
    expect(files.at(-1)).toBe(log.currentFile());
    const last = await readFile(files.at(-2)!, "utf8");
    expect(last).toContain('"run":2');
    await log.close();
  });

  it("tails files bigger than one read chunk", async () => {
    const file = join(dir, "big.log");
    await writeFile(file, Array.from({ length: 5_000 }, (_, i) => `row ${i}`).join("\n") + "\n");
    const tail = logsTailExecutor({ file });
    expect(await run(tail, { lines: 2 })).toEqual({
      file,
      lines: ["row 4998", "row 4999"],
      truncated: false,
    });
    const many = (await run(tail, { lines: 1_000 })) as { lines: string[] };
    expect(many.lines[0]).toBe("row 4000");
    await expect(run(logsTailExecutor({ file: join(dir, "nope.log") }))).rejects.toMatchObject({
      code: "logs.no_file",
    });
  });
});
