/**
 * The program that runs an exec command's child (as `node -e WRAPPER <run dir>`), in its own
 * session so it outlives the agent: a SIGKILL of the agent (or of its process group) leaves
 * it running, and a restarted agent finds out what happened from the run dir alone.
 *
 * Reads `spec.json` {argv, cwd, env, timeoutMs, maxOutput}; writes `pid.json` (its pid, its
 * start time from /proc/self/stat, the boot id), `stdout`/`stderr` (each capped at
 * maxOutput; the rest is read and dropped so the program never blocks on a full pipe), and
 * finally `exit.json` {exitCode, signal, timedOut, killed, stdoutTruncated, stderrTruncated,
 * durationMs} or {error} when the program could not start — each JSON file atomically.
 * The program runs in a process group of its own, killed as a whole (SIGKILL) at its time
 * limit or when the wrapper gets SIGTERM (`killed`).
 */
export const EXEC_WRAPPER = `"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const dir = process.argv[1];
let child;
let timedOut = false;
let killed = false;
let done = false;
const kill = () => { try { if (child) process.kill(-child.pid, "SIGKILL"); } catch {} };
// Before pid.json: whoever reads the pid may send SIGTERM, and it must reach this handler.
process.on("SIGTERM", () => { killed = true; kill(); });
process.on("SIGHUP", () => {});
const file = (name) => path.join(dir, name);
const write = (name, value) => {
  const fd = fs.openSync(file(name + ".tmp"), "w", 0o600);
  fs.writeSync(fd, JSON.stringify(value));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(file(name + ".tmp"), file(name));
};
const read = (p) => { try { return fs.readFileSync(p, "utf8").trim(); } catch { return null; } };
const stat = read("/proc/self/stat");
write("pid.json", {
  pid: process.pid,
  start: stat ? stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] : null,
  bootId: read("/proc/sys/kernel/random/boot_id") || null,
});
const spec = JSON.parse(fs.readFileSync(file("spec.json"), "utf8"));
const sink = (name) => {
  const fd = fs.openSync(file(name), "w", 0o600);
  const s = { size: 0, truncated: false };
  s.push = (chunk) => {
    const room = spec.maxOutput - s.size;
    if (chunk.length > room) s.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    fs.writeSync(fd, part);
    s.size += part.length;
  };
  s.close = () => { fs.fsyncSync(fd); fs.closeSync(fd); };
  return s;
};
const out = sink("stdout");
const err = sink("stderr");
const started = Date.now();
child = spawn(spec.argv[0], spec.argv.slice(1), {
  shell: false,
  detached: true,
  stdio: ["ignore", "pipe", "pipe"],
  cwd: spec.cwd || undefined,
  env: spec.env || process.env,
});
const timer = setTimeout(() => { timedOut = true; kill(); }, spec.timeoutMs);
if (killed) kill();
const finish = (result) => {
  if (done) return;
  done = true;
  clearTimeout(timer);
  out.close();
  err.close();
  write("exit.json", result);
  process.exit(0);
};
child.stdout.on("data", out.push);
child.stderr.on("data", err.push);
child.once("error", (e) => finish({ error: e.code || e.message }));
child.once("close", (code, signal) => finish({
  exitCode: code,
  signal: signal || null,
  timedOut,
  killed,
  stdoutTruncated: out.truncated,
  stderrTruncated: err.truncated,
  durationMs: Date.now() - started,
}));
`;
