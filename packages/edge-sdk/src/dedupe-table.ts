import type { JsonValue, ResultPdu } from "@cloudedge/protocol";

/** One remembered command (docs/protocol.md §6.2). */
export interface DedupeEntry {
  id: string;
  method: string;
  state: "running" | "done";
  /** Device time the command first arrived. */
  receivedAt: number;
  /** The command's deadline, hub time. */
  deadline: number;
  /** The time it had when it arrived (`cmd.timeoutMs`); absent in tables of older versions. */
  timeoutMs?: number;
  /** The stored result once done; redeliveries are answered with it. */
  result?: ResultPdu;
}

/** Retention of the dedupe table. */
export interface DedupeTableOptions {
  /** Keep at least this many of the newest entries. Default 1,000. */
  maxEntries?: number;
  /** Keep every entry at least this long. Default 24 h. */
  retentionMs?: number;
  /** Keep an entry at least this long past its deadline. Default 10 min. */
  deadlineMarginMs?: number;
}

/**
 * The persisted table of recent command ids and their results, so a redelivered command is
 * answered without running again. Entries are kept while young (24 h), while among the
 * newest 1,000, or until their deadline plus a margin has passed — whichever keeps more.
 */
export class DedupeTable {
  private readonly entries = new Map<string, DedupeEntry>();
  readonly maxEntries: number;
  readonly retentionMs: number;
  readonly deadlineMarginMs: number;

  constructor(options: DedupeTableOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1_000;
    this.retentionMs = options.retentionMs ?? 86_400_000;
    this.deadlineMarginMs = options.deadlineMarginMs ?? 600_000;
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): DedupeEntry | undefined {
    return this.entries.get(id);
  }

  /** Records a new command as running. */
  begin(entry: Omit<DedupeEntry, "state" | "result">): DedupeEntry {
    const created: DedupeEntry = { ...entry, state: "running" };
    this.entries.set(entry.id, created);
    return created;
  }

  /** Stores the final result of a command. */
  finish(id: string, result: ResultPdu): void {
    const entry = this.entries.get(id);
    if (entry) {
      entry.state = "done";
      entry.result = result;
    }
  }

  /**
   * Drops entries that are old, beyond the newest `maxEntries`, and past deadline + margin.
   * `now` is device time, `hubNow` the estimated hub time. Returns how many were dropped.
   */
  prune(now: number, hubNow: number): number {
    if (this.entries.size <= this.maxEntries) return 0;
    let rank = this.entries.size; // Map iteration is insertion order: oldest first
    let dropped = 0;
    for (const [id, entry] of this.entries) {
      rank -= 1;
      if (rank < this.maxEntries) break;
      const old = now - entry.receivedAt > this.retentionMs;
      const expired = hubNow > entry.deadline + this.deadlineMarginMs;
      if (old && expired && entry.state === "done") {
        this.entries.delete(id);
        dropped += 1;
      }
    }
    return dropped;
  }

  toJSON(): JsonValue {
    return [...this.entries.values()] as unknown as JsonValue;
  }

  /**
   * Restores from `toJSON` output. Returns the entries still `running`: commands of a
   * previous process that died mid-command. They must not run again (§6.2); the command
   * runner resumes them (their executor may know how they ended) and finishes them.
   */
  load(json: JsonValue | undefined): DedupeEntry[] {
    this.entries.clear();
    const running: DedupeEntry[] = [];
    if (!Array.isArray(json)) return running;
    for (const raw of json as unknown as DedupeEntry[]) {
      if (!raw || typeof raw.id !== "string") continue;
      const entry: DedupeEntry = { ...raw };
      if (entry.state !== "done" || !entry.result) {
        entry.state = "running";
        delete entry.result;
        running.push(entry);
      }
      this.entries.set(entry.id, entry);
    }
    return running;
  }
}
