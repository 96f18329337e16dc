import type { CommandRecord } from "../repos/types.js";
import type { Clock } from "../util/clock.js";

/** Someone waiting for a command's outcome. */
export interface Watch {
  outcome: Promise<CommandRecord>;
  done(command: CommandRecord): void;
  /** After `timeoutMs`, resolves with the stored version (or `fallback` if it cannot be read). */
  arm(timeoutMs: number, fallback: CommandRecord): void;
  stop(): void;
}

/**
 * Outcome waiters: whoever waits for a command registers here before it reads or creates
 * the command, and `settle` (called for every terminal change, recorded on this node or,
 * through the bus, any other) wakes them — so an outcome never slips between a read and
 * the registration.
 */
export class CommandWatchers {
  private readonly waiters = new Map<string, Set<(command: CommandRecord) => void>>();

  constructor(
    private readonly clock: Clock,
    /** Reads the command as it stands, for a wait that ends before its outcome. */
    private readonly read: (commandId: string) => Promise<CommandRecord>,
  ) {}

  /** Registers for the command's outcome. */
  watch(commandId: string): Watch {
    const set = this.waiters.get(commandId) ?? new Set<(command: CommandRecord) => void>();
    this.waiters.set(commandId, set);
    let resolveWait: (command: CommandRecord) => void = () => {};
    const outcome = new Promise<CommandRecord>((resolve) => {
      resolveWait = resolve;
    });
    let finished = false;
    let timer: unknown;
    const stop = () => {
      finished = true;
      if (timer !== undefined) this.clock.clearTimeout(timer);
      set.delete(done);
      if (set.size === 0 && this.waiters.get(commandId) === set) this.waiters.delete(commandId);
    };
    const done = (command: CommandRecord) => {
      if (finished) return;
      stop();
      resolveWait(command);
    };
    set.add(done);
    const arm = (timeoutMs: number, fallback: CommandRecord) => {
      if (finished) return;
      timer = this.clock.setTimeout(() => {
        void this.read(commandId).then(done, () => done(fallback));
      }, timeoutMs);
    };
    return { outcome, done, arm, stop };
  }

  /** Wakes everyone waiting for this (terminal) command. */
  settle(command: CommandRecord): void {
    const set = this.waiters.get(command.id);
    if (set) for (const done of [...set]) done(command);
  }
}
