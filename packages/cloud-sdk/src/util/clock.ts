import { clearLongTimeout, setLongTimeout } from "@cloudedge/protocol";

/** Time source and timers, injected wherever deadlines matter so tests run in virtual time. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/**
 * The real clock. It reads the globals at call time, so vitest's fake timers apply to it.
 * Interval handles are unref'd: a hub's sweeps never keep a process alive on their own.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  // Chunked beyond 2^31−1 ms: user-given durations (TTLs, waits, intervals) reach these.
  setTimeout: (fn, ms) => setLongTimeout(fn, ms),
  clearTimeout: (handle) => clearLongTimeout(handle),
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};
