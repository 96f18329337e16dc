import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { CloseCode } from "@cloudedge/protocol";
import {
  type ConnectionOptions,
  connect,
  ErrorCode,
  Events,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "nats";
import { CloudError, CloudErrorCode } from "../errors.js";
import type { CloudEvent } from "../events.js";
import { type Clock, systemClock } from "../util/clock.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { BusHandlers } from "./bus-handlers.js";
import type {
  BusHandler,
  BusReply,
  BusRequest,
  BusRequestKind,
  ClusterBus,
  ClusterPresence,
  HeldSession,
} from "./cluster-bus.js";
import { NatsJobLeases } from "./nats-job-leases.js";
import { decode, deviceToken, encode, nameToken } from "./nats-names.js";
import { NatsPresence } from "./nats-presence.js";

const textEncoder = new TextEncoder();
/** A node that reads an event message holding a JSON array of events (this version on). */
const EVENT_BATCHES = "event-batches";

export interface NatsClusterBusOptions {
  /** NATS server URL(s). Default "nats://127.0.0.1:4222". Ignored with `connection`. */
  servers?: string | string[];
  /** Further options (auth, TLS, …) for the connection the bus opens. */
  connectionOptions?: Partial<ConnectionOptions>;
  /** A connection to use instead; the caller keeps owning it (close() does not drain it). */
  connection?: NatsConnection;
  /** This node's name in presence events and logs. Default `<hostname>-<pid>`. */
  nodeId?: string;
  /** Prefix of subjects and KV bucket names; the nodes of one cluster share it. Default "cloudedge". */
  prefix?: string;
  /** How long a request waits for the holding node's reply. Default 5 s. */
  requestTimeoutMs?: number;
  /** How often a node refreshes its liveness entry and checks the others'. Default 2 s. */
  heartbeatMs?: number;
  /** A node silent this long is dead and its sessions are reaped (at least 3 heartbeats). Default 10 s. */
  nodeTtlMs?: number;
  /** KV replicas (1, 3 or 5; more than 1 needs a NATS cluster). Default 1. */
  replicas?: number;
  /**
   * How often one live node (the one that reaps) purges the delete markers that disconnects
   * leave in the presence bucket (at least one heartbeat). Default 5 min.
   */
  purgeIntervalMs?: number;
  logger?: Logger;
  /** Time for presence heartbeats and entries. Default the system clock. */
  clock?: Clock;
}

/**
 * The ClusterBus over NATS (issue #7), same semantics as LocalClusterBus across processes
 * and machines. Routing is by subject interest: a node holding a device subscribes to
 * `<prefix>.dev.<id>` — a plain subscription, not a queue group, so a `disconnect` reaches
 * every holder while two overlap — and a request no one subscribes to gets the server's
 * 503 at once: "no_responders", with no lookup on the hot path. A SIGKILLed node's TCP
 * connection closes, and its subscriptions go with it. Presence (`locate`, orphans of dead
 * nodes) is NatsPresence, the bus's `presence`. Events go to `<prefix>.ev.<instance>`: local subscribers get them
 * synchronously, other nodes through NATS (each node skips its own echo). The events of one
 * turn of the event loop travel as one message (a JSON array; a lone event as itself): under
 * load a node publishes one message per turn instead of one per event.
 *
 * Every node of a cluster should register an orphan handler (a Cloud does): the reaping
 * node reports each orphan only to its own handlers.
 */
export class NatsClusterBus implements ClusterBus {
  readonly nodeId: string;
  /** This process's incarnation: a restarted node with the same nodeId is a new instance. */
  readonly instance: string;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly listeners = new Set<(event: CloudEvent) => void>();
  private readonly held = new Map<string, Subscription>();
  private natsPresence!: NatsPresence;
  private readonly handlers = new BusHandlers();
  private eventsSub: Subscription | undefined;
  /** Events published this turn of the event loop, JSON-encoded, not yet sent. */
  private outgoing: string[] = [];
  private outgoingChars = 0;
  private flushTimer: NodeJS.Immediate | undefined;
  /** False while the connection to NATS is down (it reconnects by itself). */
  private connected = true;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsClusterBusOptions & { nodeId: string },
  ) {
    this.nodeId = options.nodeId;
    this.instance = `${nameToken(this.nodeId)}-${randomBytes(6).toString("hex")}`;
    this.prefix = nameToken(options.prefix ?? "cloudedge");
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
  }

  /** Connects (or uses `connection`), creates the KV buckets if needed and joins the cluster. */
  static async connect(options: NatsClusterBusOptions = {}): Promise<NatsClusterBus> {
    const nodeId = options.nodeId ?? `${hostname()}-${process.pid}`;
    const nc =
      options.connection ??
      (await connect({
        servers: options.servers ?? "nats://127.0.0.1:4222",
        name: `cloudedge-${nodeId}`,
        maxReconnectAttempts: -1,
        // An Error (with its stack) per request, only to decorate timeouts: not on a hot path.
        noAsyncTraces: true,
        ...options.connectionOptions,
      }));
    const bus = new NatsClusterBus(nc, { ...options, nodeId });
    try {
      await bus.start();
      return bus;
    } catch (error) {
      if (!options.connection) await nc.close().catch(() => undefined);
      throw error;
    }
  }

  private async start(): Promise<void> {
    const heartbeatMs = this.options.heartbeatMs ?? 2_000;
    this.natsPresence = await NatsPresence.open(this.nc, {
      prefix: this.prefix,
      nodeId: this.nodeId,
      instance: this.instance,
      heartbeatMs,
      nodeTtlMs: Math.max(this.options.nodeTtlMs ?? 10_000, heartbeatMs * 3),
      replicas: this.options.replicas ?? 1,
      purgeIntervalMs: Math.max(this.options.purgeIntervalMs ?? 300_000, heartbeatMs),
      logger: this.logger,
      clock: this.clock,
      capabilities: [EVENT_BATCHES],
      onStale: async (deviceId, theirSessionId) => {
        await this.handlers.handle(deviceId, {
          kind: "disconnect",
          closeCode: CloseCode.REPLACED,
          reason: "replaced",
          keepSessionId: theirSessionId,
        });
      },
    });
    this.eventsSub = this.nc.subscribe(`${this.prefix}.ev.*`, {
      callback: (err, msg) => {
        if (!err && msg.subject !== this.eventSubject) this.onRemoteEvent(msg);
      },
    });
    // Once connect() resolves, the server has our subscription: no event published after it is missed.
    await this.nc.flush();
    void this.watchConnection();
  }

  /**
   * Job leases over this bus's connection (a JetStream KV bucket), for `Cloud`'s
   * `jobs.leases`: one node drives each job, another takes over `ttlMs` after it died.
   */
  jobLeases(ttlMs = 10_000): Promise<NatsJobLeases> {
    return NatsJobLeases.open(this.nc, {
      prefix: this.prefix,
      holder: this.instance,
      ttlMs,
      replicas: this.options.replicas ?? 1,
    });
  }

  private async watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === Events.Disconnect) this.connected = false;
      else if (status.type === Events.Reconnect) this.connected = true;
    }
  }

  private get eventSubject(): string {
    return `${this.prefix}.ev.${this.instance}`;
  }

  private deviceSubject(deviceId: string): string {
    return `${this.prefix}.dev.${deviceToken(deviceId)}`;
  }

  async publish(event: CloudEvent): Promise<void> {
    this.deliver(event);
    if (this.closed) return;
    const json = JSON.stringify(event);
    if (!this.batching) {
      // A node of an older version is live: one event per message, as it reads them.
      this.flushEvents();
      this.send(json);
      return;
    }
    if (this.outgoingChars + json.length > this.batchChars) this.flushEvents();
    this.outgoing.push(json);
    this.outgoingChars += json.length + 1;
    this.flushTimer ??= setImmediate(() => this.flushEvents());
  }

  /**
   * Characters per batch: a quarter of the server's max_payload (1 MiB by default), so a
   * batch fits even if every character takes three bytes. A larger event goes alone.
   */
  private get batchChars(): number {
    return Math.floor((this.nc.info?.max_payload ?? 1_048_576) / 4);
  }

  /** Sends what this turn published, as one message. */
  private flushEvents(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.outgoing;
    if (batch.length === 0) return;
    this.outgoing = [];
    this.outgoingChars = 0;
    this.send(batch.length === 1 ? (batch[0] as string) : `[${batch.join(",")}]`, batch.length);
  }

  /**
   * Whether events go out batched: only once every live node has said it reads batches (in
   * a rolling upgrade, older nodes read one event per message).
   */
  get batching(): boolean {
    return this.natsPresence.everyLiveNodeCan(EVENT_BATCHES);
  }

  private send(body: string, events = 1): void {
    try {
      this.nc.publish(this.eventSubject, textEncoder.encode(body));
    } catch (error) {
      // Closed meanwhile, or one oversized event: other nodes miss these (events are at most once).
      this.logger.warn({ events, err: String(error) }, "cluster events not published");
    }
  }

  subscribe(listener: (event: CloudEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  serve<K extends BusRequestKind>(kind: K, handler: BusHandler<K>): () => void {
    return this.handlers.serve(kind, handler);
  }

  /** Cluster-wide presence in NATS KV (shared: it spans processes). */
  get presence(): ClusterPresence {
    return this.natsPresence;
  }

  async hold(
    deviceId: string,
    session: HeldSession = { sessionId: "", connectedAt: this.clock.now() },
  ): Promise<void> {
    if (this.closed) return;
    // Subscribing is synchronous on the connection: a request published after this call
    // (such as the hub's `disconnect` to older holders) already finds us.
    if (!this.held.has(deviceId)) {
      const sub = this.nc.subscribe(this.deviceSubject(deviceId), {
        callback: (err, msg) => {
          if (!err) void this.onRequest(deviceId, msg);
        },
      });
      this.held.set(deviceId, sub);
    }
    await this.natsPresence.announce(deviceId, session);
  }

  async release(deviceId: string): Promise<void> {
    const sub = this.held.get(deviceId);
    if (!sub) return;
    this.held.delete(deviceId);
    try {
      sub.unsubscribe();
    } catch {
      // the connection is gone, and the subscription with it
    }
    await this.natsPresence.withdraw(deviceId);
  }

  async request(
    deviceId: string,
    request: BusRequest,
    timeoutMs?: number,
  ): Promise<BusReply | "no_responders"> {
    const local = this.held.has(deviceId);
    // A device held here needs no round trip — except `disconnect`, which must also reach
    // older sessions on other nodes (our own subscription gets it too).
    if (local && request.kind !== "disconnect") return this.handlers.handle(deviceId, request);
    if (!this.connected) {
      // Requests would only wait out their timeout in the client's buffer: say so at once.
      if (local) return this.handlers.handle(deviceId, request);
      throw new CloudError(CloudErrorCode.CLUSTER_UNAVAILABLE, "the cluster bus is unavailable", 503);
    }
    try {
      const reply = await this.nc.request(this.deviceSubject(deviceId), encode(request), {
        timeout: timeoutMs ?? this.options.requestTimeoutMs ?? 5_000,
      });
      return decode<BusReply>(reply.data);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (local) return this.handlers.handle(deviceId, request); // NATS failed us: act here at least
      if (code === ErrorCode.NoResponders) return "no_responders";
      // Someone holds the device but did not answer in time: neither offline nor done.
      if (code === ErrorCode.Timeout) return { ok: false };
      this.logger.warn({ deviceId, err: String(error) }, "bus request failed");
      throw new CloudError(CloudErrorCode.CLUSTER_UNAVAILABLE, "the cluster bus is unavailable", 503);
    }
  }

  private async onRequest(deviceId: string, msg: Msg): Promise<void> {
    let reply: BusReply = { ok: false };
    try {
      if (this.held.has(deviceId)) reply = await this.handlers.handle(deviceId, decode(msg.data));
    } catch (error) {
      this.logger.warn({ deviceId, err: String(error) }, "bus request failed");
    }
    try {
      if (msg.reply) msg.respond(encode(reply));
    } catch {
      // The connection closed meanwhile; the requester times out.
    }
  }

  private onRemoteEvent(msg: Msg): void {
    let events: CloudEvent | CloudEvent[];
    try {
      events = decode<CloudEvent | CloudEvent[]>(msg.data);
    } catch {
      return; // not an event of ours
    }
    if (Array.isArray(events)) for (const event of events) this.deliver(event);
    else this.deliver(events);
  }

  private deliver(event: CloudEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must not stop the others (or the publisher).
      }
    }
  }

  /** Live node instances of the cluster, as of the last heartbeat. */
  get liveNodes(): ReadonlySet<string> {
    return this.natsPresence.liveNodes;
  }

  /**
   * Leaves the cluster: releases what is still held (a Cloud closed first has released
   * everything), removes the liveness entry so no one reaps us, and drains the connection
   * it opened.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.held.keys()].map((deviceId) => this.release(deviceId)));
    this.flushEvents();
    this.closed = true;
    await this.natsPresence.close();
    try {
      this.eventsSub?.unsubscribe();
    } catch {
      // already gone
    }
    if (!this.options.connection) await this.nc.drain().catch(() => undefined);
  }
}
