// Server-side measurements shared by the hub and the bare ws server, so both are measured
// by the same code: memory after GC, CPU % and event-loop lag over a window, peak RSS.
import { monitorEventLoopDelay } from "node:perf_hooks";

const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
let window = { cpu: process.cpuUsage(), at: performance.now() };
let peakRss = process.memoryUsage.rss();
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100).unref();

const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);

/** Memory after full GCs (run with --expose-gc). */
async function memoryAfterGc() {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    gc: gc !== undefined,
  };
}

/** Starts a measurement window: CPU and lag are reported since here by windowStop. */
function windowStart() {
  lag.reset();
  window = { cpu: process.cpuUsage(), at: performance.now() };
  return true;
}

function windowStop() {
  const elapsedMs = performance.now() - window.at;
  const cpu = process.cpuUsage(window.cpu);
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  return {
    elapsedMs: Math.round(elapsedMs),
    cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
    // No sample at all: the loop was blocked for the whole window — that is the lag.
    lagP50Ms: lag.count === 0 ? Math.round(elapsedMs) : ms(lag.percentile(50)),
    lagP99Ms: lag.count === 0 ? Math.round(elapsedMs) : ms(lag.percentile(99)),
    lagMaxMs: lag.count === 0 ? Math.round(elapsedMs) : ms(lag.max),
  };
}

/** The probe ops every server process serves. */
export const probeHandlers = {
  mem: () => memoryAfterGc(),
  windowStart: () => windowStart(),
  windowStop: () => windowStop(),
  peakRss: ({ reset } = {}) => {
    const value = Math.max(peakRss, process.memoryUsage.rss());
    if (reset) peakRss = process.memoryUsage.rss();
    return value;
  },
  exit: () => {
    setImmediate(() => process.exit(0));
    return true;
  },
};
