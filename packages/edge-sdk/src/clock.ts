import { clearLongTimeout, setLongTimeout } from "@cloudedge/protocol";

/** Time source and one-shot timers, injected wherever time matters so tests run in virtual time. */
export interface Clock {
  /** Device time, epoch ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock; it reads the globals at call time, so fake timers apply to it too. */
export const systemClock: Clock = {
  now: () => Date.now(),
  // Chunked beyond 2^31−1 ms: user-given durations (TTLs, waits, intervals) reach these.
  setTimeout: (fn, ms) => setLongTimeout(fn, ms),
  clearTimeout: (handle) => clearLongTimeout(handle),
};

/** A promise that resolves after `ms` on the given clock, or rejects when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
