/**
 * At most `max` exec programs running at once; the rest wait their turn in arrival order.
 * A burst of commands must not start a process each at once on a small device (each run
 * also has its wrapper process): the agent would starve its own link of CPU.
 */
export class ExecSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new TypeError("exec maxConcurrent must be an integer ≥ 1");
  }

  /** Resolves with the slot's release once one is free; rejects if `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.running < this.max) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const turn = () => {
        signal.removeEventListener("abort", abort);
        this.running++;
        resolve(this.releaser());
      };
      const abort = () => {
        const at = this.waiting.indexOf(turn);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", abort, { once: true });
      this.waiting.push(turn);
    });
  }

  /** Programs running now, and waiting. */
  get stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.waiting.shift()?.();
    };
  }
}
