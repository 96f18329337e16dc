import type { KV } from "nats";
import type { Logger } from "../util/logger.js";
import type { HeldSession } from "./cluster-bus.js";
import {
  forEachConcurrent,
  isWrongLastSequence,
  type PresenceBuckets,
  type PresenceValue,
} from "./nats-buckets.js";
import { deviceToken, encode } from "./nats-names.js";
import { CONCURRENCY } from "./nats-reaper.js";

export interface OwnEntriesOptions {
  nodeId: string;
  instance: string;
  logger: Logger;
  /** The buckets as of now (reopened after a reconnect). */
  buckets: () => PresenceBuckets;
  /** A repair stops early once this says so (closing). */
  stopped: () => boolean;
  /** Another live node took a device we hold while we were cut off from NATS. */
  onStale: (deviceId: string, theirSessionId: string) => Promise<void>;
}

type Announced = { value: PresenceValue; revision: Promise<number | undefined> };

/**
 * The presence entries this instance writes: one per device it holds, written when it takes
 * the session and deleted with compare-and-set when it lets go, so a late release never
 * deletes a newer holder's entry. Writes and deletes that fail (NATS away, a timeout under
 * load) are remembered and repaired at the next heartbeat.
 */
export class OwnEntries {
  private readonly announced = new Map<string, Announced>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Released devices whose entry could not be deleted (NATS was away): retried each beat. */
  private readonly leftovers = new Set<string>();
  /** Held devices whose entry could not be written: retried each beat. */
  private readonly unwritten = new Set<string>();

  constructor(private readonly options: OwnEntriesOptions) {}

  private get presence(): KV {
    return this.options.buckets().presence;
  }

  /** Whether this instance holds the device. */
  holds(deviceId: string): boolean {
    return this.announced.has(deviceId);
  }

  /** Whether entries of released devices wait to be deleted again. */
  get hasLeftovers(): boolean {
    return this.leftovers.size > 0;
  }

  /** Whether entries of held devices wait to be written again. */
  get hasUnwritten(): boolean {
    return this.unwritten.size > 0;
  }

  /** This instance holds the device's session now. Resolves once written (never rejects). */
  announce(deviceId: string, session: HeldSession): Promise<unknown> {
    const { nodeId: node, instance: inst } = this.options;
    const value: PresenceValue = { node, inst, session: session.sessionId, since: session.connectedAt };
    const revision = this.write(deviceId, value);
    this.announced.set(deviceId, { value, revision });
    return revision;
  }

  /** This instance let the device go: delete our entry if it is still ours. */
  withdraw(deviceId: string): Promise<void> {
    const announced = this.announced.get(deviceId);
    if (!announced) return Promise.resolve();
    this.announced.delete(deviceId);
    return this.track(this.forget(deviceId, announced));
  }

  /** Waits for the writes and deletes under way, then withdraws what is still announced. */
  async withdrawAll(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await Promise.allSettled([...this.announced.keys()].map((deviceId) => this.withdraw(deviceId)));
  }

  /** Writes the device's entry; a failed write is retried by the next repair (see `rewrite`). */
  private write(deviceId: string, value: PresenceValue): Promise<number | undefined> {
    this.unwritten.delete(deviceId);
    return this.track(
      this.presence.put(deviceToken(deviceId), encode(value)).catch((error: unknown) => {
        this.options.logger.warn({ deviceId, err: String(error) }, "presence put failed");
        this.unwritten.add(deviceId);
        return undefined;
      }),
    );
  }

  private async forget(deviceId: string, announced: Announced): Promise<void> {
    const revision = await announced.revision;
    if (revision === undefined) {
      this.leftovers.add(deviceId);
      return;
    }
    try {
      await this.presence.delete(deviceToken(deviceId), { previousSeq: revision });
    } catch (error) {
      // A newer holder wrote it, which is fine; anything else: retry.
      if (!isWrongLastSequence(error)) this.leftovers.add(deviceId);
    }
  }

  /** Writes again every held device whose entry could not be written. */
  async rewrite(): Promise<void> {
    await forEachConcurrent(
      [...this.unwritten],
      CONCURRENCY,
      async (deviceId) => {
        const announced = this.announced.get(deviceId);
        if (!announced) {
          this.unwritten.delete(deviceId); // released: `forget` saw the failed write and deletes
          return;
        }
        const revision = await announced.revision;
        // Held again meanwhile: that hold's own write clears or renews the mark.
        if (this.announced.get(deviceId) !== announced) return;
        if (revision !== undefined) {
          this.unwritten.delete(deviceId); // an older hold's write failed; the current one is in
          return;
        }
        announced.revision = this.write(deviceId, announced.value);
        await announced.revision;
      },
      this.options.stopped,
    );
  }

  /** Deletes the entries of released devices that a withdraw could not delete. */
  async forgetLeftovers(): Promise<void> {
    const { instance } = this.options;
    await forEachConcurrent(
      [...this.leftovers],
      CONCURRENCY,
      async (deviceId) => {
        this.leftovers.delete(deviceId); // a release while we work on it marks it again
        if (this.announced.has(deviceId)) return; // held again: its entry is the new session's
        try {
          const entry = await this.presence.get(deviceToken(deviceId));
          // Checked again after the get: held again meanwhile, the entry is (or soon will be)
          // the new session's. A hold after this check writes after our delete.
          if (
            entry?.operation === "PUT" &&
            !this.announced.has(deviceId) &&
            entry.json<PresenceValue>().inst === instance
          ) {
            await this.presence
              .delete(deviceToken(deviceId), { previousSeq: entry.revision })
              .catch(() => undefined);
          }
        } catch (error) {
          if (!this.announced.has(deviceId)) this.leftovers.add(deviceId);
          throw error;
        }
      },
      this.options.stopped,
    );
  }

  /**
   * Writes every held device's entry again (into buckets recreated after a NATS restart if
   * needed) — unless a live node took the device while we were cut off (its `disconnect`
   * could not reach us): then our session is the stale one and `onStale` closes it.
   */
  async reannounce(): Promise<void> {
    const { instance } = this.options;
    await forEachConcurrent(
      [...this.announced],
      CONCURRENCY,
      async ([deviceId, announced]) => {
        if (this.announced.get(deviceId) !== announced) return; // released or held again since
        const entry = await this.presence.get(deviceToken(deviceId));
        if (entry?.operation === "PUT") {
          const value = entry.json<PresenceValue>();
          if (
            value.inst !== instance &&
            (await this.options.buckets().nodes.get(value.inst))?.operation === "PUT"
          ) {
            await this.options.onStale(deviceId, value.session);
            return;
          }
        }
        if (this.announced.get(deviceId) !== announced) return;
        announced.revision = this.write(deviceId, announced.value);
        await announced.revision;
      },
      this.options.stopped,
    );
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }
}
