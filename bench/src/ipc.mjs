// Request/response over a forked child's IPC channel, both sides. Children die with the
// harness: a lost channel (the parent exited or was killed) ends them, so no run leaves
// orphans holding ports or sockets.
import { fork } from "node:child_process";

/** @type {Set<import("node:child_process").ChildProcess>} */
const live = new Set();

/** Kills every child this process started (SIGKILL: a run that ends must not leave any). */
export function killAllChildren() {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  live.clear();
}

let guarded = false;
function guardExit() {
  if (guarded) return;
  guarded = true;
  process.on("exit", killAllChildren);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      killAllChildren();
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
}

/**
 * A child process speaking request/response over IPC.
 * @typedef {{ process: import("node:child_process").ChildProcess, pid: number,
 *   call: (op: string, args?: object) => Promise<unknown>, ready: Promise<any>,
 *   exited: Promise<number | null>, kill: (signal?: NodeJS.Signals) => Promise<void> }} Child
 */

/**
 * Forks `script` with `config` as its only argument (JSON). Its stdout goes to our stderr so
 * the harness's stdout stays machine-readable.
 * @param {URL} script
 * @param {object} config
 * @param {string[]} [execArgv]
 * @returns {Child}
 */
export function spawnChild(script, config, execArgv = []) {
  guardExit();
  const child = fork(script, [JSON.stringify(config)], {
    execArgv,
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    serialization: "advanced",
  });
  child.stdout?.pipe(process.stderr);
  live.add(child);
  let nextId = 1;
  /** @type {Map<number, {resolve: (v: unknown) => void, reject: (e: Error) => void}>} */
  const waiting = new Map();
  /** @type {(value: unknown) => void} */
  let onReady = () => {};
  /** @type {(error: Error) => void} */
  let onReadyFail = () => {};
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    onReadyFail = reject;
  });
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      live.delete(child);
      const error = new Error(`child ${script.pathname.split("/").pop()} exited (${code ?? signal})`);
      onReadyFail(error);
      for (const { reject } of waiting.values()) reject(error);
      waiting.clear();
      resolve(code);
    });
  });
  // A child that dies before ready must not crash the harness with an unhandled rejection.
  ready.catch(() => {});
  child.on("message", (message) => {
    if (message.ready !== undefined) return onReady(message.ready);
    const entry = waiting.get(message.id);
    if (!entry) return;
    waiting.delete(message.id);
    if (message.error) entry.reject(new Error(message.error));
    else entry.resolve(message.result);
  });
  return {
    process: child,
    pid: child.pid ?? 0,
    ready,
    exited,
    call(op, args = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.send({ id, op, args });
      });
    },
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Child side: the config passed by spawnChild. */
export function childConfig() {
  return JSON.parse(process.argv[2] ?? "{}");
}

/**
 * Child side: serves `handlers` (op → async function(args)) and tells the parent it is ready.
 * @param {Record<string, (args: object) => unknown>} handlers
 * @param {unknown} readyInfo
 */
export function serve(handlers, readyInfo) {
  // The parent is gone (exited, crashed, killed): so are we.
  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message) => {
    const handler = handlers[message.op];
    try {
      if (!handler) throw new Error(`unknown op ${message.op}`);
      const result = await handler(message.args);
      process.send?.({ id: message.id, result });
    } catch (error) {
      process.send?.({ id: message.id, error: String(error?.stack ?? error) });
    }
  });
  process.send?.({ ready: readyInfo });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * spawnChild, awaiting ready; a child that dies before ready is started again (up to
 * `attempts` times, 3 s apart) — on a shared checkout a package may be mid-rebuild.
 * @returns {Promise<{child: Child, info: unknown}>}
 */
export async function spawnReady(script, config, execArgv = [], attempts = 3) {
  for (let attempt = 1; ; attempt++) {
    const child = spawnChild(script, config, execArgv);
    try {
      return { child, info: await child.ready };
    } catch (error) {
      if (attempt >= attempts) throw error;
      process.stderr.write(`[bench] ${error.message}; starting it again\n`);
      await sleep(3_000);
    }
  }
}
