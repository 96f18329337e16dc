import { Events, type NatsConnection } from "nats";
import { type Clock, systemClock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { ClusterPresence, HeldSession, OrphanedSession } from "./cluster-bus.js";
import { kvTimeout, openBuckets, type PresenceBuckets, type PresenceValue } from "./nats-buckets.js";
import { NodeCapabilities } from "./nats-capabilities.js";
import { LeaderChores } from "./nats-leader.js";
import { deviceToken, encode } from "./nats-names.js";
import { OwnEntries } from "./nats-own-entries.js";

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
 * for it. The lanes' work lives apart: our entries in OwnEntries (nats-own-entries.ts),
 * the leader's chores in LeaderChores (nats-leader.ts, over nats-reaper.ts), what the live
 * instances can do in NodeCapabilities (nats-capabilities.ts).
 */
export class NatsPresence implements ClusterPresence {
  /** It spans processes: other nodes hold devices too. */
  readonly shared = true;
  private readonly clock: Clock;
  private readonly entries: OwnEntries;
  private readonly capabilities: NodeCapabilities;
  private readonly chores: LeaderChores;
  private readonly orphanHandlers = new Set<(orphan: OrphanedSession) => Promise<void>>();
  private live: ReadonlySet<string> = new Set();
  /** We have the smallest live id: reaping and purging are ours. */
  private leader = false;
  /** Reconnects seen; the buckets reopened after, and our entries re-announced after, which one. */
  private reconnects = 0;
  private reopenedAfter = 0;
  private reannouncedAfter = 0;
  private timer: unknown;
  private refreshing: Promise<void> | undefined;
  private repairing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private buckets: PresenceBuckets,
    private readonly options: NatsPresenceOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    const stopped = () => this.closed;
    this.entries = new OwnEntries({
      nodeId: options.nodeId,
      instance: options.instance,
      logger: options.logger,
      buckets: () => this.buckets,
      stopped,
      onStale: options.onStale,
    });
    this.capabilities = new NodeCapabilities(options.instance, options.capabilities ?? []);
    this.chores = new LeaderChores({
      instance: options.instance,
      nodeTtlMs: options.nodeTtlMs,
      purgeIntervalMs: options.purgeIntervalMs,
      listingIdleMs: 5 * kvTimeout(options.heartbeatMs),
      logger: options.logger,
      clock: this.clock,
      closed: stopped,
      report: (orphan) => this.report(orphan),
    });
  }

  /** Opens (creating if needed) the buckets and announces this instance alive. */
  static async open(nc: NatsConnection, options: NatsPresenceOptions): Promise<NatsPresence> {
    const self = new NatsPresence(nc, await NatsPresence.openBuckets(nc, options), options);
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

  /** Live instances, as of the last heartbeat. */
  get liveNodes(): ReadonlySet<string> {
    return this.live;
  }

  /** Whether every live instance announced `capability`: one lookup, for hot paths. */
  everyLiveNodeCan(capability: string): boolean {
    return this.capabilities.everyLiveNodeCan(capability);
  }

  onOrphaned(handler: (orphan: OrphanedSession) => Promise<void>): () => void {
    // Wrapped: the same function registered twice is two registrations, removed one by one.
    const registered = (orphan: OrphanedSession) => handler(orphan);
    this.orphanHandlers.add(registered);
    return () => this.orphanHandlers.delete(registered);
  }

  /** This instance holds the device's session now. Resolves once written (never rejects). */
  announce(deviceId: string, session: HeldSession): Promise<unknown> {
    return this.entries.announce(deviceId, session);
  }

  /** This instance let the device go: delete our entry if it is still ours. */
  withdraw(deviceId: string): Promise<void> {
    return this.entries.withdraw(deviceId);
  }

  /** The node id of the live instance holding the device, if any. */
  async locate(deviceId: string): Promise<string | undefined> {
    const entry = await this.buckets.presence.get(deviceToken(deviceId));
    if (entry?.operation !== "PUT") return undefined;
    const value = entry.json<PresenceValue>();
    if (value.inst === this.options.instance) return this.entries.holds(deviceId) ? value.node : undefined;
    const node = await this.buckets.nodes.get(value.inst);
    return node && node.operation === "PUT" ? value.node : undefined;
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
      const { nodes } = this.buckets;
      await nodes.put(
        instance,
        encode({ node: nodeId, at: this.clock.now(), caps: this.options.capabilities ?? [] }),
      );
      const live = new Set<string>();
      for await (const key of await nodes.keys()) live.add(key);
      if ([...this.live].some((inst) => !live.has(inst))) this.chores.owe();
      await this.capabilities.update(nodes, live);
      this.live = live;
      // One reaper at a time — the smallest live id, no election needed.
      this.leader = [...live].sort()[0] === instance;
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, "cluster heartbeat failed");
      return;
    }
    if (!this.closed && this.leader) this.chores.run(this.buckets, this.live);
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
    const after = this.reopenedAfter;
    if (this.reannouncedAfter < after)
      await this.attempt("re-announce", async () => {
        await this.entries.reannounce();
        this.reannouncedAfter = after;
      });
    if (this.entries.hasLeftovers)
      await this.attempt("presence delete", () => this.entries.forgetLeftovers());
    if (this.entries.hasUnwritten) await this.attempt("presence rewrite", () => this.entries.rewrite());
  }

  private async attempt(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      // Typically NATS still away, or a timeout under load: what is left stays for the next beat.
      this.options.logger.warn({ err: String(error) }, `${what} failed`);
    }
  }

  private async report(orphan: OrphanedSession): Promise<void> {
    for (const handler of [...this.orphanHandlers]) {
      await handler(orphan).catch((error: unknown) =>
        this.options.logger.warn({ deviceId: orphan.deviceId, err: String(error) }, "orphan handler failed"),
      );
    }
  }

  /** After a reconnect NATS may have restarted (memory buckets gone, recent writes lost). */
  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== Events.Reconnect || this.closed) continue;
      this.reconnects++;
      this.chores.quiet();
      this.tick();
    }
  }

  /** Withdraws what is still announced and removes our liveness entry (so no one reaps us). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // no new lane; a reap, purge or repair under way stops early
    if (this.timer) this.clock.clearInterval(this.timer);
    await Promise.allSettled([this.refreshing, this.repairing, this.chores.settle()]);
    await this.entries.withdrawAll();
    await this.buckets.nodes.delete(this.options.instance).catch(() => undefined);
  }
}
