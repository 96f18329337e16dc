import { Events, type KV, type NatsConnection, StorageType } from "nats";
import type { Logger } from "../util/logger.js";
import type { HeldSession, OrphanedSession } from "./cluster-bus.js";
import { deviceToken, encode, keyToDeviceId, nameToken } from "./nats-names.js";

export interface NatsPresenceOptions {
  prefix: string;
  nodeId: string;
  /** This process's incarnation (a restarted node with the same nodeId is a new one). */
  instance: string;
  heartbeatMs: number;
  nodeTtlMs: number;
  replicas: number;
  logger: Logger;
  /** Another live node took a device we hold while we were cut off from NATS. */
  onStale: (deviceId: string, theirSessionId: string) => Promise<void>;
}

/** A presence entry: which node instance holds a device, and the session (id, connectedAt). */
interface PresenceValue {
  node: string;
  inst: string;
  session: string;
  since: number;
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
 */
export class NatsPresence {
  private readonly announced = new Map<string, Announced>();
  private readonly orphanHandlers: Array<(orphan: OrphanedSession) => Promise<void>> = [];
  private readonly pending = new Set<Promise<unknown>>();
  /** Released devices whose entry could not be deleted (NATS was away): retried each beat. */
  private readonly leftovers = new Set<string>();
  /** Held devices whose entry could not be written: retried each beat. */
  private readonly unwritten = new Set<string>();
  private live = new Set<string>();
  /** A reap is owed (at start, and whenever an instance went missing); the leader does it. */
  private reapDue = true;
  /** No reaping before this: just after start or a reconnect, live peers may not be re-announced. */
  private quietUntil = 0;
  /** After a reconnect, until it succeeds: recreate buckets, announce again. */
  private reannounceDue = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private beating: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private presence: KV,
    private nodes: KV,
    private readonly options: NatsPresenceOptions,
  ) {}

  /** Opens (creating if needed) the buckets and announces this instance alive. */
  static async open(nc: NatsConnection, options: NatsPresenceOptions): Promise<NatsPresence> {
    const { presence, nodes } = await openBuckets(nc, options);
    const self = new NatsPresence(nc, presence, nodes, options);
    self.quietUntil = Date.now() + options.nodeTtlMs;
    await self.beat();
    self.timer = setInterval(() => void self.beat(), options.heartbeatMs);
    self.timer.unref();
    void self.watchStatus();
    return self;
  }

  /** Live instances, as of the last heartbeat. */
  get liveNodes(): ReadonlySet<string> {
    return this.live;
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

  private async rewrite(): Promise<void> {
    for (const deviceId of [...this.unwritten]) {
      const announced = this.announced.get(deviceId);
      if (announced && (await announced.revision) === undefined) {
        announced.revision = this.write(deviceId, announced.value);
        await announced.revision;
      } else {
        this.unwritten.delete(deviceId); // released, or written since
      }
    }
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
      // "wrong last sequence": a newer holder wrote it, which is fine; anything else: retry.
      if (!String(error).includes("wrong last sequence")) this.leftovers.add(deviceId);
    }
  }

  /** Refreshes our liveness entry, notices instances that went away, reaps if we lead. */
  private beat(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    try {
      if (this.reannounceDue) await this.reannounce();
      if (this.leftovers.size > 0) await this.forgetLeftovers();
      if (this.unwritten.size > 0) await this.rewrite();
      const { instance, nodeId } = this.options;
      await this.nodes.put(instance, encode({ node: nodeId, at: Date.now() }));
      const live = new Set<string>();
      for await (const key of await this.nodes.keys()) live.add(key);
      if ([...this.live].some((inst) => !live.has(inst))) this.reapDue = true;
      this.live = live;
      // One reaper at a time — the smallest live id, no election needed. A reap compares
      // entries with the live set of its moment, so a postponed one misses nothing.
      const leader = [...live].sort()[0] === instance;
      if (leader && this.reapDue && Date.now() >= this.quietUntil) {
        this.reapDue = false;
        await this.reap(live);
      }
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, "cluster heartbeat failed");
    }
  }

  /** Deletes the entries of dead instances (compare-and-set) and reports each once. */
  private async reap(live: ReadonlySet<string>): Promise<void> {
    const keys: string[] = [];
    for await (const key of await this.presence.keys()) keys.push(key);
    let next = 0;
    const worker = async () => {
      while (next < keys.length && !this.closed) {
        const key = keys[next++] as string;
        const entry = await this.presence.get(key).catch(() => null);
        if (entry?.operation !== "PUT") continue;
        const value = entry.json<PresenceValue>();
        if (live.has(value.inst)) continue;
        try {
          await this.presence.delete(key, { previousSeq: entry.revision });
        } catch {
          continue; // a node took the device meanwhile
        }
        const deviceId = keyToDeviceId(key);
        const orphan: OrphanedSession = {
          deviceId,
          nodeId: value.node,
          sessionId: value.session,
          connectedAt: value.since,
        };
        this.options.logger.info({ ...orphan }, "reaped the session of a dead node");
        for (const handler of this.orphanHandlers) {
          await handler(orphan).catch((error: unknown) =>
            this.options.logger.warn({ deviceId, err: String(error) }, "orphan handler failed"),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  }

  /** After a reconnect NATS may have restarted (memory buckets gone, recent writes lost). */
  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== Events.Reconnect || this.closed) continue;
      this.reannounceDue = true;
      this.quietUntil = Date.now() + this.options.nodeTtlMs;
      void this.beat();
    }
  }

  /**
   * Recreates the buckets if needed and writes every held device's entry again — unless a
   * live node took the device while we were cut off (its `disconnect` could not reach us):
   * then our session is the stale one and `onStale` closes it.
   */
  private async reannounce(): Promise<void> {
    const buckets = await openBuckets(this.nc, this.options);
    this.presence = buckets.presence;
    this.nodes = buckets.nodes;
    for (const [deviceId, announced] of this.announced) {
      const entry = await this.presence.get(deviceToken(deviceId));
      if (entry?.operation === "PUT") {
        const value = entry.json<PresenceValue>();
        if (value.inst !== this.options.instance && (await this.nodes.get(value.inst))?.operation === "PUT") {
          await this.options.onStale(deviceId, value.session);
          continue;
        }
      }
      announced.revision = this.write(deviceId, announced.value);
      await announced.revision;
    }
    this.reannounceDue = false;
  }

  private async forgetLeftovers(): Promise<void> {
    for (const deviceId of [...this.leftovers]) {
      if (!this.announced.has(deviceId)) {
        // Throws while NATS is still away: what is left stays for the next beat.
        const entry = await this.presence.get(deviceToken(deviceId));
        if (entry?.operation === "PUT" && entry.json<PresenceValue>().inst === this.options.instance) {
          await this.presence
            .delete(deviceToken(deviceId), { previousSeq: entry.revision })
            .catch(() => undefined);
        }
      }
      this.leftovers.delete(deviceId);
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Withdraws what is still announced and removes our liveness entry (so no one reaps us). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // no new beat; a reap under way stops early
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    await Promise.allSettled([...this.pending]);
    await Promise.allSettled([...this.announced.keys()].map((deviceId) => this.withdraw(deviceId)));
    await this.nodes.delete(this.options.instance).catch(() => undefined);
  }
}

async function openBuckets(
  nc: NatsConnection,
  options: Pick<NatsPresenceOptions, "prefix" | "replicas" | "nodeTtlMs" | "heartbeatMs">,
): Promise<{ presence: KV; nodes: KV }> {
  // A JetStream call that went out just before NATS died is never answered: keep its wait
  // short, so heartbeats (and the re-announce after a reconnect) are not held up for long.
  const timeout = Math.max(2_000, options.heartbeatMs);
  const js = nc.jetstream({ timeout });
  const prefix = nameToken(options.prefix);
  // Presence survives a NATS restart (file storage), so the dead can still be reaped after
  // one; liveness is ephemeral by nature (memory) and re-announced by every node.
  const presence = await js.views.kv(`${prefix}_presence`, {
    history: 1,
    storage: StorageType.File,
    replicas: options.replicas,
    timeout,
  });
  const nodes = await js.views.kv(`${prefix}_nodes`, {
    history: 1,
    storage: StorageType.Memory,
    ttl: options.nodeTtlMs,
    replicas: options.replicas,
    timeout,
  });
  return { presence, nodes };
}
