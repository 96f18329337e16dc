import type { JsonValue, ResultPdu, StatusPdu } from "@cloudedge/protocol";

/** What waits in the outbox: status snapshots and command results, with their original timestamps. */
export type OutboxPdu = StatusPdu | ResultPdu;

/**
 * The bounded offline queue (docs/protocol.md §6.4): oldest first; past the bound the
 * oldest entries are dropped and counted. Pure; the client persists it.
 */
export class Outbox {
  private entries: OutboxPdu[] = [];
  /** Entries dropped since this outbox was created (or loaded). */
  dropped = 0;

  constructor(readonly maxEntries = 1_000) {
    if (!(maxEntries >= 1)) throw new RangeError("maxEntries must be >= 1");
  }

  get size(): number {
    return this.entries.length;
  }

  /** Appends; returns how many old entries were dropped to make room. */
  push(pdu: OutboxPdu): number {
    this.entries.push(pdu);
    const over = this.entries.length - this.maxEntries;
    if (over <= 0) return 0;
    this.entries.splice(0, over);
    this.dropped += over;
    return over;
  }

  /** The oldest entry without removing it. */
  peek(): OutboxPdu | undefined {
    return this.entries[0];
  }

  /** Removes and returns the oldest entry. */
  shift(): OutboxPdu | undefined {
    return this.entries.shift();
  }

  toJSON(): JsonValue {
    return { entries: this.entries as unknown as JsonValue[], dropped: this.dropped };
  }

  /** Restores from `toJSON` output; tolerates missing or malformed data (starts empty). */
  load(json: JsonValue | undefined): void {
    const value = json as { entries?: unknown; dropped?: unknown } | undefined;
    const entries = Array.isArray(value?.entries) ? (value.entries as OutboxPdu[]) : [];
    this.entries = entries.filter((pdu) => pdu && (pdu.type === "status" || pdu.type === "result"));
    this.dropped = typeof value?.dropped === "number" ? value.dropped : 0;
    if (this.entries.length > this.maxEntries) {
      this.dropped += this.entries.length - this.maxEntries;
      this.entries.splice(0, this.entries.length - this.maxEntries);
    }
  }
}
