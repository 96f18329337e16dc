import { Events, type KV, type NatsConnection } from "nats";
import { type Clock, systemClock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { ClusterPresence, HeldSession, OrphanedSession } from "./cluster-bus.js";
import {
  forEachConcurrent,
  isWrongLastSequence,
  kvTimeout,
  openBuckets,
  type PresenceBuckets,
  type PresenceValue,
} from "./nats-buckets.js";
import { deviceToken, encode } from "./nats-names.js";
import { CONCURRENCY, purgeMarkers, reapDead } from "./nats-reaper.js";

export interface NatsPresenceOptions {
  prefix: string;
  nodeId: string;
  /** This process's incarnation (a restarted node with the same nodeId is a new one). */
  instance: string;
  heartbeatMs: number;
  nodeTtlMs: number;
  replicas: number;
  /** How often the leader purges the delete markers that withdrawals leave in the presence bucket. */
  purgeIntervalMs: number;
  logger: Logger;
  /** Heartbeat timer and the time of liveness entries and quiet periods. Default the system clock. */
  clock?: Clock;
  /** Another live node took a device we hold while we were cut off from NATS. */
  onStale: (deviceId: string, theirSessionId: string) => Promise<void>;
  /** Wraps the bucket handles whenever they are opened (tests: slow or failing KV calls). */
  wrapBuckets?: (buckets: PresenceBuckets) => PresenceBuckets;
  /**
   * What this instance's node-to-node messages can do beyond the first version's, announced
   * in its liveness entry, so that every node knows what all the others understand (a
   * rolling upgrade runs two versions side by side).
   */
  capabilities?: readonly string[];
}

type Announced = { value: PresenceValue; revision: Promise<number | undefined> };

/**
 * Cluster-wide presence in two JetStream KV buckets: `<prefix>_presence` (device → node
 * instance, session, since; written when a node takes a session and deleted with
 * compare-and-set when it lets go, so a late release never deletes a newer holder's entry)
 * and `<prefix>_nodes` (one entry per live instance, refreshed every heartbeat, expiring
 * after `nodeTtlMs`). An entry counts only while its instance is alive. When an instance
 * disappears, the live instance with the smallest id reaps its entries (compare-and-set
 * again) and reports each once: robust to a node dying without a goodbye, and writes stay
 * at one per connect/disconnect, not per device per heartbeat.
 *
 * Each heartbeat starts three lanes, each running one at a time and none waiting for
 * another: the liveness refresh, the repair of our own entries (re-announce, failed writes
 * and deletes), and the leader's chores (reap, purge of delete markers). A reap of 100,000
 * entries takes long; the refresh that keeps us from being taken for dead must not wait
 * for it.
 */
export class NatsPresence implements ClusterPresence {
  /** It spans processes: other nodes hold devices too. */
  readonly shared = true;
  private readonly announced = new Map<string, Announced>();
  private readonly orphanHandlers: Array<(orphan: OrphanedSession) => Promise<void>> = [];
  private readonly pending = new Set<Promise<unknown>>();
  /** Released devices whose entry could not be deleted (NATS was away): retried each beat. */
  private readonly leftovers = new Set<string>();
  /** Held devices whose entry could not be written: retried each beat. */
  private readonly unwritten = new Set<string>();
  private live = new Set<string>();
  /** We have the smallest live id: reaping and purging are ours. */
  private leader = false;
  /** A reap is owed (at start, and whenever an instance went missing); the leader does it. */
  private reapDue = true;
  /** No reaping before this: just after start or a reconnect, live peers may not be re-announced. */
  private quietUntil = 0;
  /** The leader purges the presence bucket's delete markers from then on. */
  private purgeAt = 0;
  /** Reconnects seen; the buckets reopened after, and our entries re-announced after, which one. */
  private reconnects = 0;
  private reopenedAfter = 0;
  private reannouncedAfter = 0;
  private timer: unknown;
  private refreshing: Promise<void> | undefined;
  private repairing: Promise<void> | undefined;
  private reaping: Promise<void> | undefined;
  private purging: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private buckets: PresenceBuckets,
    private readonly options: NatsPresenceOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  private readonly clock: Clock;

  /** Opens (creating if needed) the buckets and announces this instance alive. */
  static async open(nc: NatsConnection, options: NatsPresenceOptions): Promise<NatsPresence> {
    const self = new NatsPresence(nc, await NatsPresence.openBuckets(nc, options), options);
    const now = self.clock.now();
    self.quietUntil = now + options.nodeTtlMs;
    self.purgeAt = now + options.purgeIntervalMs;
    await self.refresh();
    // The Clock's intervals never keep the process alive on their own.
    self.timer = self.clock.setInterval(() => self.tick(), options.heartbeatMs);
    void self.watchStatus();
    return self;
  }

  private static async openBuckets(
    nc: NatsConnection,
    options: NatsPresenceOptions,
  ): Promise<PresenceBuckets> {
    const buckets = await openBuckets(nc, options);
    return options.wrapBuckets ? options.wrapBuckets(buckets) : buckets;
  }

  private get presence(): KV {
    return this.buckets.presence;
  }

  private get nodes(): KV {
    return this.buckets.nodes;
  }

  /** Live instances, as of the last heartbeat. */
  get liveNodes(): ReadonlySet<string> {
    return this.live;
  }

  /** Capabilities of the live instances, each read once from its liveness entry. */
  private readonly capabilities = new Map<string, ReadonlySet<string>>();
  /** What every live instance announced, as of the last heartbeat (empty until they are all known). */
  private commonCapabilities: ReadonlySet<string> = new Set();

  /** Whether every live instance announced `capability`: one lookup, for hot paths. */
  everyLiveNodeCan(capability: string): boolean {
    return this.commonCapabilities.has(capability);
  }

  /** The capabilities every instance of `live` announced (ours included). */
  private sharedBy(live: ReadonlySet<string>): ReadonlySet<string> {
    let shared = new Set(this.options.capabilities ?? []);
    for (const inst of live) {
      if (inst === this.options.instance) continue;
      const theirs = this.capabilities.get(inst);
      shared = new Set(theirs ? [...shared].filter((c) => theirs.has(c)) : []);
    }
    return live.size === 0 ? new Set() : shared;
  }

  /** Reads the capabilities of instances seen for the first time; forgets the gone ones. */
  private async learnCapabilities(live: ReadonlySet<string>): Promise<void> {
    for (const inst of this.capabilities.keys()) if (!live.has(inst)) this.capabilities.delete(inst);
    const unknown = [...live].filter(
      (inst) => inst !== this.options.instance && !this.capabilities.has(inst),
    );
    await Promise.all(
      unknown.map(async (inst) => {
        const entry = await this.nodes.get(inst).catch(() => null);
        if (entry?.operation !== "PUT") return; // asked again at the next heartbeat
        let caps: unknown;
        try {
          caps = (JSON.parse(entry.string()) as { caps?: unknown }).caps;
        } catch {
          caps = undefined;
        }
        this.capabilities.set(
          inst,
          new Set(Array.isArray(caps) ? caps.filter((c): c is string => typeof c === "string") : []),
        );
      }),
    );
  }

  onOrphaned(handler: (orphan: OrphanedSession) => Promise<void>): void {
    this.orphanHandlers.push(handler);
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

  /** The node id of the live instance holding the device, if any. */
  async locate(deviceId: string): Promise<string | undefined> {
    const entry = await this.presence.get(deviceToken(deviceId));
    if (entry?.operation !== "PUT") return undefined;
    const value = entry.json<PresenceValue>();
    if (value.inst === this.options.instance) return this.announced.has(deviceId) ? value.node : undefined;
    const node = await this.nodes.get(value.inst);
    return node && node.operation === "PUT" ? value.node : undefined;
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

  /** Every heartbeat: starts each lane unless it is still running. */
  private tick(): void {
    if (this.closed) return;
    void this.refresh();
    void this.repair();
  }

  /** Refreshes our liveness entry, notices instances that went away, then starts the leader's chores. */
  private refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    const { instance, nodeId } = this.options;
    try {
      const reconnects = this.reconnects;
      if (this.reopenedAfter < reconnects) {
        this.buckets = await NatsPresence.openBuckets(this.nc, this.options);
        this.reopenedAfter = reconnects;
        void this.repair(); // re-announce into them
      }
      await this.nodes.put(
        instance,
        encode({ node: nodeId, at: this.clock.now(), caps: this.options.capabilities ?? [] }),
      );
      const live = new Set<string>();
      for await (const key of await this.nodes.keys()) live.add(key);
      if ([...this.live].some((inst) => !live.has(inst))) this.reapDue = true;
      await this.learnCapabilities(live);
      this.live = live;
      this.commonCapabilities = this.sharedBy(live);
      // One reaper at a time — the smallest live id, no election needed.
      this.leader = [...live].sort()[0] === instance;
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, "cluster heartbeat failed");
      return;
    }
    this.tidy();
  }

  /** Repairs our own entries; each step alone, so one that fails does not hold up the others' retries. */
  private repair(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.repairing ??= this.repairOnce().finally(() => {
      this.repairing = undefined;
    });
    return this.repairing;
  }

  private async repairOnce(): Promise<void> {
    if (this.reannouncedAfter < this.reopenedAfter)
      await this.attempt("re-announce", () => this.reannounce());
    if (this.leftovers.size > 0) await this.attempt("presence delete", () => this.forgetLeftovers());
    if (this.unwritten.size > 0) await this.attempt("presence rewrite", () => this.rewrite());
  }

  private async attempt(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      // Typically NATS still away, or a timeout under load: what is left stays for the next beat.
      this.options.logger.warn({ err: String(error) }, `${what} failed`);
    }
  }

  /** Writes again every held device whose entry could not be written. */
  private async rewrite(): Promise<void> {
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
      () => this.closed,
    );
  }

  /** Deletes the entries of released devices that a withdraw could not delete. */
  private async forgetLeftovers(): Promise<void> {
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
      () => this.closed,
    );
  }

  /** The leader's chores, each one at a time, never awaited by the liveness refresh. */
  private tidy(): void {
    if (this.closed || !this.leader) return;
    const now = this.clock.now();
    if (this.reapDue && !this.reaping && now >= this.quietUntil) {
      this.reapDue = false;
      // A reap compares entries with the live set of its moment, so a postponed one misses nothing.
      this.reaping = reapDead({
        buckets: this.buckets,
        instance: this.options.instance,
        live: this.live,
        idleMs: this.listingIdleMs,
        logger: this.options.logger,
        report: (orphan) => this.report(orphan),
        // Reconnected meanwhile: live peers may not have re-announced yet.
        interrupted: () => this.closed || this.clock.now() < this.quietUntil,
      })
        .then((complete) => {
          if (!complete) this.reapDue = true;
        })
        .catch((error: unknown) => {
          this.reapDue = true;
          this.options.logger.warn({ err: String(error) }, "presence reap failed");
        })
        .finally(() => {
          this.reaping = undefined;
        });
    }
    if (!this.purging && now >= this.purgeAt) {
      this.purgeAt = now + this.options.purgeIntervalMs;
      this.purging = purgeMarkers(this.buckets, {
        idleMs: this.listingIdleMs,
        interrupted: () => this.closed,
      })
        .then((purged) => {
          if (purged > 0) this.options.logger.info({ purged }, "purged presence delete markers");
        })
        .catch((error: unknown) => {
          this.options.logger.warn({ err: String(error) }, "presence purge failed");
        })
        .finally(() => {
          this.purging = undefined;
        });
    }
  }

  private async report(orphan: OrphanedSession): Promise<void> {
    for (const handler of this.orphanHandlers) {
      await handler(orphan).catch((error: unknown) =>
        this.options.logger.warn({ deviceId: orphan.deviceId, err: String(error) }, "orphan handler failed"),
      );
    }
  }

  /** A bucket listing that gets nothing for this long is given up (and retried). */
  private get listingIdleMs(): number {
    return 5 * kvTimeout(this.options.heartbeatMs);
  }

  /** After a reconnect NATS may have restarted (memory buckets gone, recent writes lost). */
  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== Events.Reconnect || this.closed) continue;
      this.reconnects++;
      this.quietUntil = this.clock.now() + this.options.nodeTtlMs;
      this.tick();
    }
  }

  /**
   * Writes every held device's entry again (into buckets the refresh recreated if needed) —
   * unless a live node took the device while we were cut off (its `disconnect` could not
   * reach us): then our session is the stale one and `onStale` closes it.
   */
  private async reannounce(): Promise<void> {
    const after = this.reopenedAfter;
    const { instance } = this.options;
    await forEachConcurrent(
      [...this.announced],
      CONCURRENCY,
      async ([deviceId, announced]) => {
        if (this.announced.get(deviceId) !== announced) return; // released or held again since
        const entry = await this.presence.get(deviceToken(deviceId));
        if (entry?.operation === "PUT") {
          const value = entry.json<PresenceValue>();
          if (value.inst !== instance && (await this.nodes.get(value.inst))?.operation === "PUT") {
            await this.options.onStale(deviceId, value.session);
            return;
          }
        }
        if (this.announced.get(deviceId) !== announced) return;
        announced.revision = this.write(deviceId, announced.value);
        await announced.revision;
      },
      () => this.closed,
    );
    this.reannouncedAfter = after;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Withdraws what is still announced and removes our liveness entry (so no one reaps us). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // no new lane; a reap, purge or repair under way stops early
    if (this.timer) this.clock.clearInterval(this.timer);
    await Promise.allSettled([this.refreshing, this.repairing, this.reaping, this.purging]);
    await Promise.allSettled([...this.pending]);
    await Promise.allSettled([...this.announced.keys()].map((deviceId) => this.withdraw(deviceId)));
    await this.nodes.delete(this.options.instance).catch(() => undefined);
  }
}
