import type { Credentials } from "./credentials.js";
import type { DedupeEntry, DedupeTable } from "./dedupe-table.js";
import type { Outbox } from "./outbox.js";
import type { DesiredState, ReportedState } from "./state-sync.js";
import { type EdgeStorage, SaveQueue } from "./storage.js";

/** The parts of the client that survive a restart, one storage key each. */
export interface PersistedParts {
  /** `token`: the resume token and its expiry (never the secret). */
  token: Credentials;
  /** `desired`: the desired document and the version last applied (§6.3). */
  desired: DesiredState;
  /** `reported`: the reported document and its version (§6.3). */
  reported: ReportedState;
  /** `dedupe`: recent command ids and their results (§6.2). */
  dedupe: DedupeTable;
  /** `outbox`: status reports and results waiting for a session (§6.4). */
  outbox: Outbox;
}

type Part = keyof PersistedParts;

/** Loads and saves the client's persisted parts through one coalescing SaveQueue. */
export class ClientStore {
  private readonly saves: SaveQueue;

  constructor(
    private readonly storage: EdgeStorage,
    private readonly parts: PersistedParts,
    private readonly onError: (error: unknown) => void,
  ) {
    this.saves = new SaveQueue(storage);
  }

  /** Restores every part; returns the stored device id and the commands a restart interrupted. */
  async load(): Promise<{ deviceId: string | undefined; interrupted: DedupeEntry[] }> {
    const keys = ["token", "deviceId", "desired", "reported", "dedupe", "outbox"] as const;
    const [token, deviceId, desired, reported, dedupe, outbox] = await Promise.all(
      keys.map((key) => this.storage.load(key)),
    );
    this.parts.token.load(token);
    this.parts.desired.load(desired);
    this.parts.reported.load(reported);
    const interrupted = this.parts.dedupe.load(dedupe);
    this.parts.outbox.load(outbox);
    return { deviceId: typeof deviceId === "string" ? deviceId : undefined, interrupted };
  }

  /** Writes a part; resolves once written, rejects when storage fails. */
  save(part: Part): Promise<void> {
    return this.saves.save(part, () => this.parts[part].toJSON());
  }

  /** Writes a part in the background; failures go to `onError`. */
  saveQuietly(part: Part): void {
    this.save(part).catch(this.onError);
  }

  /** Remembers the device id learnt from `welcome`. */
  saveDeviceId(deviceId: string): void {
    this.saves.save("deviceId", () => deviceId).catch(this.onError);
  }

  /** Resolves when every write requested so far has finished. */
  idle(): Promise<void> {
    return this.saves.idle();
  }
}
