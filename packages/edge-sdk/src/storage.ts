import type { JsonValue } from "@cloudedge/protocol";

/**
 * Where the client keeps what must survive a restart: the resume token, the dedupe table,
 * the desired/reported documents with their versions, and the outbox. A small key-value
 * store of JSON values; keys are short ASCII names (`token`, `dedupe`, `desired`, …).
 * The token is a bearer credential: implementations should store it like a secret.
 */
export interface EdgeStorage {
  load(key: string): Promise<JsonValue | undefined>;
  save(key: string, value: JsonValue): Promise<void>;
  remove(key: string): Promise<void>;
}

/** Keeps everything in memory (the default): survives reconnects, not restarts. */
export class MemoryStorage implements EdgeStorage {
  private readonly data = new Map<string, string>();

  async load(key: string): Promise<JsonValue | undefined> {
    const text = this.data.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  }

  async save(key: string, value: JsonValue): Promise<void> {
    // Stored as text, so callers can never alias (and later mutate) what was saved.
    this.data.set(key, JSON.stringify(value));
  }

  async remove(key: string): Promise<void> {
    this.data.delete(key);
  }

  /** Keys currently stored (for tests and diagnostics). */
  keys(): string[] {
    return [...this.data.keys()];
  }
}

type Slot = {
  running: Promise<void> | undefined;
  next: (() => JsonValue | undefined) | undefined;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
};

/**
 * Serialises writes per key and coalesces bursts: while one write of a key is in flight,
 * later requests collapse into one write of the newest value. The value is produced at
 * write time, so a burst of outbox pushes costs one serialisation, not one each.
 */
export class SaveQueue {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly storage: EdgeStorage) {}

  /** Writes `produce()` (or removes the key when it returns undefined); resolves once written. */
  save(key: string, produce: () => JsonValue | undefined): Promise<void> {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { running: undefined, next: undefined, waiters: [] };
      this.slots.set(key, slot);
    }
    slot.next = produce;
    const done = new Promise<void>((resolve, reject) => slot.waiters.push({ resolve, reject }));
    if (!slot.running) slot.running = this.run(key, slot);
    return done;
  }

  /** Resolves when every write requested so far has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.slots.values()].map((slot) => slot.running));
  }

  private async run(key: string, slot: Slot): Promise<void> {
    await Promise.resolve(); // let the caller store `running` first
    while (slot.next) {
      const produce = slot.next;
      slot.next = undefined;
      const waiters = slot.waiters;
      slot.waiters = [];
      try {
        const value = produce();
        if (value === undefined) await this.storage.remove(key);
        else await this.storage.save(key, value);
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    slot.running = undefined;
  }
}
