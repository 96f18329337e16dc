import type { PresenceOp } from "../hub/presence-ops.js";
import { replayPresenceOp } from "../hub/presence-ops.js";
import type { DeviceEvent, StatusRecord, Store } from "../repos/types.js";
import { type Logger, silentLogger } from "../util/logger.js";
import type { Spill } from "../util/write-behind.js";
import { JournalFile } from "./journal-file.js";

/** What the journal holds: each a write the store refused, as the buffer held it. */
export type JournalEntry =
  | { kind: "status"; item: StatusRecord }
  | { kind: "event"; item: DeviceEvent }
  | { kind: "presence"; item: PresenceOp };

export type JournalKind = JournalEntry["kind"];
type ItemOf<K extends JournalKind> = Extract<JournalEntry, { kind: K }>["item"];

/** Writes per kind (replayed, journaled or lost). */
export type JournalCounts = Record<JournalKind, number>;

/** Rows per store call during replay, as the write-behind batches (4 × 500). */
const REPLAY_BATCH = 2000;

export const emptyCounts = (): JournalCounts => ({ status: 0, event: 0, presence: 0 });

/**
 * The local journal of buffered writes (docs/operations.md, "Journal"): what the store
 * refused — during an outage, at once; at shutdown, whatever the grace period left — is
 * appended here, fsynced, and replayed into the store by the next start before it serves.
 * Replay is idempotent: status reports are keyed by (device, ts), events by id, presence
 * writes are upserts, so a crash during replay (or a record written after all) duplicates nothing.
 */
export class WriteJournal {
  private readonly file: JournalFile<JournalEntry>;
  /** Saved entries not known to be in the store; at 0 the file holds nothing needed. */
  private outstanding = 0;

  constructor(
    readonly path: string,
    private readonly logger: Logger = silentLogger,
  ) {
    this.file = new JournalFile(path);
  }

  /** The spill for one kind of buffer. */
  spill<K extends JournalKind>(kind: K): Spill<ItemOf<K>> {
    return {
      save: (items) => {
        this.file.append(items.map((item) => ({ kind, item }) as JournalEntry));
        this.outstanding += items.length;
      },
      settle: (count) => {
        this.outstanding = Math.max(0, this.outstanding - count);
        if (this.outstanding === 0) this.clearQuietly();
      },
    };
  }

  /**
   * Writes what an earlier run left into the store, then empties the journal. A torn or
   * corrupt tail is skipped with a warning. Throws (the journal kept) when the store refuses.
   */
  async replay(store: Pick<Store, "status" | "events" | "devices">): Promise<JournalCounts> {
    const { records, skippedBytes, problem } = this.file.read();
    if (skippedBytes > 0)
      this.logger.warn(
        { journal: this.path, skippedBytes, problem, intact: records.length },
        "journal tail unreadable (torn or corrupt); skipped",
      );
    const counts = emptyCounts();
    const byKind = <K extends JournalKind>(kind: K): ItemOf<K>[] =>
      records.filter((r) => r.kind === kind).map((r) => r.item as ItemOf<K>);
    // Presence first and in order (a session's offline follows its online).
    for (const op of byKind("presence")) {
      await replayPresenceOp(store.devices, op);
      counts.presence++;
    }
    const status = byKind("status");
    for (let i = 0; i < status.length; i += REPLAY_BATCH)
      await store.status.insertBatch(status.slice(i, i + REPLAY_BATCH));
    counts.status = status.length;
    const events = byKind("event");
    for (let i = 0; i < events.length; i += REPLAY_BATCH)
      await store.events.append(events.slice(i, i + REPLAY_BATCH));
    counts.event = events.length;
    this.file.clear();
    this.outstanding = 0;
    if (records.length > 0) this.logger.info({ journal: this.path, ...counts }, "journal replayed");
    return counts;
  }

  close(): void {
    this.file.close();
  }

  private clearQuietly(): void {
    try {
      this.file.clear();
    } catch (error) {
      // Harmless: replaying what is already stored changes nothing.
      this.logger.warn({ journal: this.path, err: String(error) }, "journal could not be emptied");
    }
  }
}
