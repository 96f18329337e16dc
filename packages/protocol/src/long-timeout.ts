/**
 * Timers for user-given durations. Node and browsers keep a timeout in a signed 32-bit
 * integer: a delay above 2^31−1 ms (≈24.8 days) fires after 1 ms instead (#21.13: a
 * `wait: true` command with a 30-day TTL answered 504 at once). Longer waits are chunked.
 */

/** The longest delay `setTimeout` honours. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A handle of `setLongTimeout`; pass it to `clearLongTimeout`. */
export interface LongTimeout {
  handle: ReturnType<typeof setTimeout> | undefined;
}

/** Like `setTimeout`, for any delay (Infinity never fires). Reads the global at call time, so fake timers apply. */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  const timer: LongTimeout = { handle: undefined };
  const arm = (left: number) => {
    timer.handle =
      left > MAX_TIMER_MS ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fn, left);
  };
  arm(ms);
  return timer;
}

/** Cancels a `setLongTimeout`; anything else is ignored. */
export function clearLongTimeout(timer: unknown): void {
  const handle = (timer as Partial<LongTimeout> | null | undefined)?.handle;
  if (handle !== undefined) clearTimeout(handle);
}
