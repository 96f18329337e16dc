import type { CmdPdu } from "@cloudedge/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandOutcome } from "../src/command-runner.js";
import type { EdgeClient } from "../src/edge-client.js";
import { ExecutorError } from "../src/errors.js";
import { MemoryStorage } from "../src/storage.js";
import { harness } from "./support/client-harness.js";
import { settle } from "./support/manual-clock.js";

const clients: EdgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function setup(options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  clients.push(h.client);
  return h;
}
const cmd = (id: string, method: string, params?: unknown, timeoutMs = 10_000): CmdPdu => ({
  type: "cmd",
  id,
  method,
  ...(params !== undefined ? { params } : {}),
  deadline: 1_700_000_000_000 + timeoutMs,
  timeoutMs,
});

describe("EdgeClient commands (docs/protocol.md §6.1)", () => {
  it("acks on receipt, then sends the result of the executor", async () => {
    const h = setup();
    let release!: () => void;
    h.client.handle("echo", async (params) => {
      await new Promise<void>((r) => {
        release = r;
      });
      return { echo: params ?? null };
    });
    const socket = await h.connect();
    socket.deliver(cmd("c1", "echo", { a: 1 }));
    await settle();
    expect(socket.of("ack")).toEqual([{ type: "ack", id: "c1" }]);
    expect(socket.of("result")).toEqual([]);
    release();
    await settle();
    expect(socket.of("result")).toEqual([
      { type: "result", id: "c1", ok: true, data: { echo: { a: 1 } }, ts: h.clock.now() },
    ]);
  });

  it("answers an unknown method with method_not_found after the ack", async () => {
    const h = setup();
    const socket = await h.connect();
    socket.deliver(cmd("c2", "no.such"));
    await settle();
    expect(socket.sent.filter((p) => p.type === "ack" || p.type === "result").map((p) => p.type)).toEqual([
      "ack",
      "result",
    ]);
    expect(socket.of("result")[0]).toMatchObject({ ok: false, error: { code: "method_not_found" } });
  });

  it("turns executor errors into error results with code and message", async () => {
    const h = setup();
    h.client.handle("typed", () => {
      throw new ExecutorError("invalid_params", "need a name", { field: "name" });
    });
    h.client.handle("plain", async () => {
      throw new Error("disk on fire");
    });
    const socket = await h.connect();
    socket.deliver(cmd("c3", "typed"));
    socket.deliver(cmd("c4", "plain"));
    await settle();
    const [typed, plain] = socket.of("result");
    expect(typed).toMatchObject({
      id: "c3",
      ok: false,
      error: { code: "invalid_params", message: "need a name", details: { field: "name" } },
    });
    expect(plain).toMatchObject({
      id: "c4",
      ok: false,
      error: { code: "executor_error", message: "disk on fire" },
    });
  });

  it("times out at timeoutMs with the signal aborted, even if the executor ignores it", async () => {
    const h = setup();
    let signal: AbortSignal | undefined;
    h.client.handle("slow", (_p, ctx) => {
      signal = ctx.signal;
      return new Promise(() => {}); // never settles
    });
    const finished: CommandOutcome[] = [];
    h.client.on("commandFinished", (o) => finished.push(o));
    const socket = await h.connect({ heartbeatMs: 60_000 });
    socket.deliver(cmd("c5", "slow", undefined, 3_000));
    await settle();
    await h.clock.advance(2_999);
    expect(socket.of("result")).toEqual([]);
    await h.clock.advance(1);
    expect(signal?.aborted).toBe(true);
    expect(socket.of("result")[0]).toMatchObject({ id: "c5", ok: false, error: { code: "timeout" } });
    expect(finished[0]).toMatchObject({ id: "c5", ok: false, code: "timeout", durationMs: 3_000 });
  });

  it("passes deadline and timeoutMs, and runs afterResult hooks after the result went out", async () => {
    const h = setup();
    const order: string[] = [];
    h.client.handle("reboot", (_p, ctx) => {
      expect(ctx.deadline).toBe(1_700_000_010_000);
      expect(ctx.timeoutMs).toBe(10_000);
      ctx.afterResult(() => {
        order.push(`after:${socket.of("result").length}`);
      });
      return { issued: true };
    });
    const socket = await h.connect();
    socket.deliver(cmd("c6", "reboot"));
    await settle();
    expect(order).toEqual(["after:1"]);
  });

  it("replaces a result too large to send with an executor_error", async () => {
    const h = setup();
    h.client.handle("big", () => ({ blob: "x".repeat(60_000).repeat(5) }));
    const socket = await h.connect();
    socket.deliver(cmd("c7", "big"));
    await settle();
    expect(socket.of("result")[0]).toMatchObject({ ok: false, error: { code: "executor_error" } });
  });
});

describe("EdgeClient dedupe (§6.2)", () => {
  it("answers a redelivered finished command from the table without running it again", async () => {
    const h = setup();
    let runs = 0;
    h.client.handle("count", () => ++runs);
    const socket = await h.connect();
    socket.deliver(cmd("d1", "count"));
    await settle();
    socket.deliver(cmd("d1", "count"));
    await settle();
    expect(runs).toBe(1);
    expect(socket.of("ack")).toHaveLength(2);
    const results = socket.of("result");
    expect(results).toHaveLength(2);
    expect(results[1]).toEqual(results[0]);
  });

  it("a duplicate of a running command is acked again and answered once it finishes", async () => {
    const h = setup();
    let runs = 0;
    let release!: () => void;
    h.client.handle("wait", async () => {
      runs++;
      await new Promise<void>((r) => {
        release = r;
      });
      return "done";
    });
    const received: boolean[] = [];
    h.client.on("commandReceived", (i) => received.push(i.duplicate));
    const socket = await h.connect();
    socket.deliver(cmd("d2", "wait"));
    await settle();
    socket.deliver(cmd("d2", "wait"));
    await settle();
    expect(socket.of("ack")).toHaveLength(2);
    expect(socket.of("result")).toHaveLength(0);
    release();
    await settle();
    expect(runs).toBe(1);
    expect(received).toEqual([false, true]);
    expect(socket.of("result")).toMatchObject([{ id: "d2", ok: true, data: "done" }]);
  });

  it("records the command before the ack (persisted table)", async () => {
    const storage = new MemoryStorage();
    const h = setup({ storage });
    let atAck: unknown;
    h.client.handle("x", () => null);
    const socket = await h.connect();
    const send = socket.send.bind(socket);
    socket.send = (data: string) => {
      if (JSON.parse(data).type === "ack") atAck = storage.load("dedupe");
      send(data);
    };
    socket.deliver(cmd("d3", "x"));
    await settle();
    expect(await atAck).toMatchObject([{ id: "d3", state: "running" }]);
    expect(await storage.load("dedupe")).toMatchObject([{ id: "d3", state: "done", result: { ok: true } }]);
  });

  it("survives a restart: a new client on the same storage answers from the table", async () => {
    const storage = new MemoryStorage();
    const a = setup({ storage });
    let runs = 0;
    a.client.handle("once", () => ++runs);
    const s1 = await a.connect();
    s1.deliver(cmd("d4", "once"));
    await settle();
    await a.client.close();

    const b = setup({ storage });
    b.client.handle("once", () => ++runs);
    const s2 = await b.connect();
    s2.deliver(cmd("d4", "once"));
    await settle();
    expect(runs).toBe(1);
    expect(s2.of("result")).toMatchObject([{ id: "d4", ok: true, data: 1 }]);
  });

  it("a command still running when the process died is answered executor_error, never re-run", async () => {
    const storage = new MemoryStorage();
    await storage.save("dedupe", [{ id: "d5", method: "m", state: "running", receivedAt: 1, deadline: 2 }]);
    const h = setup({ storage });
    let runs = 0;
    h.client.handle("m", () => ++runs);
    const socket = await h.connect();
    await settle();
    // Sent from the outbox after the welcome, without waiting for a redelivery…
    const interrupted = {
      id: "d5",
      ok: false,
      error: { code: "executor_error", message: "interrupted by restart" },
    };
    expect(socket.of("result")).toMatchObject([interrupted]);
    // …and a redelivery is acked and answered the same, still without running it.
    socket.deliver(cmd("d5", "m"));
    await settle();
    expect(runs).toBe(0);
    expect(socket.of("ack")).toEqual([{ type: "ack", id: "d5" }]);
    expect(socket.of("result")).toMatchObject([interrupted, interrupted]);
  });

  it("a restart resumes a running command through its executor's resume: the real outcome is sent", async () => {
    const storage = new MemoryStorage();
    await storage.save("dedupe", [
      { id: "d7", method: "job", state: "running", receivedAt: 1, deadline: 2, timeoutMs: 5_000 },
      { id: "d8", method: "job", state: "running", receivedAt: 1, deadline: 2, timeoutMs: 5_000 },
    ]);
    const h = setup({ storage });
    let finish!: () => void;
    const resumed: string[] = [];
    h.client.register({
      method: "job",
      execute: async () => "ran again",
      resume: async (context) => {
        resumed.push(context.commandId);
        if (context.commandId === "d8") return undefined; // knows nothing of it
        await new Promise<void>((r) => {
          finish = r;
        });
        return { data: { exitCode: 0 } };
      },
    });
    const socket = await h.connect();
    socket.deliver(cmd("d7", "job"));
    await settle();
    expect(resumed).toEqual(["d7", "d8"]);
    // The redelivery of the command still going is acked, and not run.
    expect(socket.of("ack")).toEqual([{ type: "ack", id: "d7" }]);
    expect(socket.of("result")).toMatchObject([
      { id: "d8", ok: false, error: { code: "executor_error", message: "interrupted by restart" } },
    ]);
    finish();
    await settle();
    expect(socket.of("result")).toMatchObject([{ id: "d8" }, { id: "d7", ok: true, data: { exitCode: 0 } }]);
    expect(await storage.load("dedupe")).toMatchObject([
      { id: "d7", state: "done", result: { ok: true } },
      { id: "d8", state: "done", result: { ok: false } },
    ]);
  });

  it("a result finished while offline waits in the outbox and goes out after the next welcome", async () => {
    const h = setup({ random: () => 0 });
    let release!: () => void;
    h.client.handle("slow", async () => {
      await new Promise<void>((r) => {
        release = r;
      });
      return 42;
    });
    const s1 = await h.connect();
    s1.deliver(cmd("d6", "slow"));
    await settle();
    s1.serverClose(1006, "");
    release();
    await settle();
    expect(h.client.outboxStats.size).toBe(1);
    await h.clock.advance(0);
    const s2 = await h.accept();
    expect(s2.of("result")).toMatchObject([{ id: "d6", ok: true, data: 42 }]);
    expect(h.client.outboxStats.size).toBe(0);
  });

  it("close() cancels running commands; their results are kept", async () => {
    const h = setup();
    h.client.handle(
      "forever",
      (_p, ctx) =>
        new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("x")))),
    );
    const socket = await h.connect();
    socket.deliver(cmd("d7", "forever"));
    await settle();
    await h.client.close();
    const table = (await h.storage.load("dedupe")) as Array<{ result?: { error?: { code: string } } }>;
    expect(table[0]?.result?.error?.code).toBe("canceled");
    expect(h.client.outboxStats.size).toBe(1);
  });
});
