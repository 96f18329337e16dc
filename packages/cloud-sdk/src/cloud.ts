import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { EventEmitter } from "eventemitter3";
import { DeviceAuthenticator, type DeviceAuthenticatorOptions } from "./auth/device-authenticator.js";
import { ResumeTokens } from "./auth/resume-tokens.js";
import { CommandBroker } from "./broker/command-broker.js";
import type { CommandBrokerOptions } from "./broker/command-types.js";
import type { ClusterBus, OrphanedSession } from "./cluster/cluster-bus.js";
import { LocalClusterBus } from "./cluster/local-cluster-bus.js";
import { DeviceService } from "./devices/device-service.js";
import { AuthFailureLog } from "./event-log/auth-failure-log.js";
import { EventLogWriter } from "./event-log/event-log-writer.js";
import type { CloudEvent, DeviceChangedEvent, PresenceEvent } from "./events.js";
import { GroupService } from "./groups/group-service.js";
import { DeviceHub, type DeviceHubOptions } from "./hub/device-hub.js";
import { HubWebSocketServer, type HubWebSocketServerOptions } from "./hub/ws-transport.js";
import { JobService, type JobServiceOptions } from "./jobs/job-service.js";
import { emptyCounts, type JournalCounts, WriteJournal } from "./journal/write-journal.js";
import type { Store } from "./repos/types.js";
import { StateService } from "./state/state-service.js";
import { StatusIngest, type StatusIngestOptions } from "./status/status-ingest.js";
import { type Clock, systemClock } from "./util/clock.js";
import { createIdGenerator, type IdGenerator } from "./util/ids.js";
import { type Logger, silentLogger } from "./util/logger.js";

export interface CloudOptions {
  store: Store;
  /** HMAC key for resume tokens (≥32 bytes). */
  tokenKey: string;
  /** Resume-token lifetime. Default 7 days. */
  tokenTtlMs?: number;
  bus?: ClusterBus;
  clock?: Clock;
  logger?: Logger;
  ids?: IdGenerator;
  bcryptCost?: number;
  hub?: Omit<DeviceHubOptions, "devices" | "authenticator" | "tokens" | "bus" | "clock" | "logger">;
  auth?: Pick<
    DeviceAuthenticatorOptions,
    "perDevice" | "perDeviceAddress" | "perAddress" | "acceptTokens" | "maxConcurrentSecretChecks"
  >;
  status?: Pick<StatusIngestOptions, "flushMs" | "batchSize" | "retention" | "quota">;
  commands?: Pick<CommandBrokerOptions, "defaultTimeoutMs" | "sweepMs" | "scanMs" | "quota">;
  /**
   * The job engine: how often a driver re-reads its in-flight commands (lost events; default
   * 30 s) and which node drives each job (`leases`; in a cluster `await natsBus.jobLeases()`).
   */
  jobs?: Pick<JobServiceOptions, "pollMs" | "leases">;
  /** How long finished commands stay queryable. Default 30 days. */
  commandRetentionMs?: number;
  /** Event-log retention. Default 30 days. */
  eventRetentionMs?: number;
  /** At most one `auth_failed` event-log row per device per this window (with a count). Default 60 s. */
  authFailureWindowMs?: number;
  /**
   * The local journal file (e.g. `<data dir>/journal-<node>.log`; one per node in a
   * cluster): buffered writes the store refuses are kept there and replayed by `start()`.
   * Without it, what a shutdown cannot write is lost (and counted).
   */
  journalPath?: string;
}

/** What `close()` did with the buffered writes it could not get into the store. */
export interface ShutdownReport {
  /** In the journal, for the next start to replay. */
  journaled: JournalCounts;
  /** Neither in the store nor in the journal. Anything here means the shutdown failed. */
  lost: JournalCounts;
}

/**
 * The cloud side composed: hub, broker, jobs, state, status, devices, groups and event log over
 * one store and one cluster bus. `events` carries every CloudEvent of the cluster.
 */
export class Cloud {
  readonly hub: DeviceHub;
  readonly broker: CommandBroker;
  readonly state: StateService;
  readonly status: StatusIngest;
  readonly devices: DeviceService;
  readonly groups: GroupService;
  /** Fleet jobs over the broker (src/jobs). */
  readonly jobs: JobService;
  readonly eventLog: EventLogWriter;
  readonly bus: ClusterBus;
  readonly tokens: ResumeTokens;
  readonly authenticator: DeviceAuthenticator;
  /** The journal of buffered writes, when `journalPath` is set. */
  readonly journal: WriteJournal | undefined;
  readonly events = new EventEmitter<{ event: (event: CloudEvent) => void }>();
  private readonly servers: HubWebSocketServer[] = [];
  private readonly unsubscribe: () => void;
  private readonly offOrphaned: () => void;
  private readonly retentionTimer: unknown;
  private readonly authFailures: AuthFailureLog;
  private readonly clock: Clock;

  constructor(readonly options: CloudOptions) {
    const { store } = options;
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    const logger = options.logger ?? silentLogger;
    const ids = options.ids ?? createIdGenerator();
    this.bus = options.bus ?? new LocalClusterBus();
    this.tokens = new ResumeTokens(options.tokenKey, options.tokenTtlMs);
    this.journal = options.journalPath ? new WriteJournal(options.journalPath, logger) : undefined;
    this.authenticator = new DeviceAuthenticator({
      devices: store.devices,
      tokens: this.tokens,
      clock,
      ...(options.bcryptCost !== undefined ? { bcryptCost: options.bcryptCost } : {}),
      ...options.auth,
    });
    const authenticator = this.authenticator;
    this.hub = new DeviceHub({
      ...options.hub,
      devices: store.devices,
      authenticator,
      tokens: this.tokens,
      bus: this.bus,
      clock,
      logger,
      ...(this.journal ? { presenceSpill: this.journal.spill("presence") } : {}),
    });
    this.eventLog = new EventLogWriter(store, ids, clock, logger, this.journal?.spill("event"));
    this.devices = new DeviceService({
      store,
      bus: this.bus,
      ids,
      clock,
      ...(options.bcryptCost !== undefined ? { bcryptCost: options.bcryptCost } : {}),
      latestStatus: (deviceId) => this.status.latest(deviceId),
      heldHere: (deviceId) => this.hub.session(deviceId) !== undefined,
      log: (deviceId, kind, data) => {
        this.eventLog.append(deviceId, kind, null, data ?? null);
        const relabelled =
          kind === "updated" && (data?.["fields"] as string[] | undefined)?.includes("labels");
        if (kind === "registered" || relabelled)
          this.deviceChanged({ deviceId, change: kind === "registered" ? "registered" : "relabelled" });
      },
    });
    this.groups = new GroupService({
      groups: store.groups,
      ids,
      clock,
      onJoined: (groupId, deviceId) => this.deviceChanged({ deviceId, change: "joined_group", groupId }),
    });
    const log = this.eventLog.append.bind(this.eventLog);
    this.broker = new CommandBroker({
      store,
      hub: this.hub,
      bus: this.bus,
      ids,
      clock,
      logger,
      log,
      ...options.commands,
    });
    this.jobs = new JobService({
      store,
      broker: this.broker,
      bus: this.bus,
      ids,
      clock,
      logger,
      ...(options.commands?.defaultTimeoutMs !== undefined
        ? { defaultTimeoutMs: options.commands.defaultTimeoutMs }
        : {}),
      ...options.jobs,
    });
    this.state = new StateService({ store, hub: this.hub, bus: this.bus, clock, logger, log });
    this.status = new StatusIngest({
      store,
      hub: this.hub,
      bus: this.bus,
      clock,
      logger,
      ...options.status,
      ...(this.journal ? { spill: this.journal.spill("status") } : {}),
    });

    this.hub.on("presence", (event) => void this.bus.publish(event).catch(() => {}));
    this.authFailures = new AuthFailureLog(log, clock, options.authFailureWindowMs);
    this.hub.on("authFailed", (failure) => this.authFailures.record(failure));
    this.hub.on("presence", (event) =>
      this.eventLog.append(
        event.deviceId,
        event.online ? "connected" : "disconnected",
        event.reason,
        { sessionId: event.sessionId },
        event.at,
      ),
    );
    this.unsubscribe = this.bus.subscribe((event) => this.events.emit("event", event));
    this.offOrphaned = this.bus.presence.onOrphaned((orphan) => this.orphaned(orphan));
    const retentionMs = options.eventRetentionMs ?? 30 * 86_400_000;
    const commandRetentionMs = options.commandRetentionMs ?? 30 * 86_400_000;
    this.retentionTimer = clock.setInterval(() => {
      void store.events.prune(clock.now() - retentionMs).catch(() => {});
      void store.commands.deleteFinishedBefore(clock.now() - commandRetentionMs).catch(() => {});
    }, 600_000);
  }

  /** Tells every node's job engine that a device may have come to match a job's targets. */
  private deviceChanged(change: Omit<DeviceChangedEvent, "type" | "at">): void {
    void this.bus.publish({ type: "device_changed", at: this.clock.now(), ...change }).catch(() => {});
  }

  /**
   * Call once at start-up, before serving: replays the journal an earlier run left (throws,
   * journal kept, when the store refuses), reconciles presence, and recovers commands left
   * non-terminal.
   */
  async start(): Promise<{ requeued: number; timedOut: number; expired: number; replayed: JournalCounts }> {
    await this.authenticator.dummyHash; // made at the configured cost before the first login
    const replayed = (await this.journal?.replay(this.options.store)) ?? emptyCounts();
    if (this.bus.presence.shared) await this.reconcilePresence();
    else await this.options.store.devices.markAllOffline(this.clock.now());
    const recovered = await this.broker.recover();
    // After the broker: a job's in-flight commands are where recovery left them.
    await this.jobs.start();
    return { ...recovered, replayed };
  }

  /**
   * Cluster start-up: other nodes are live, so instead of marking every device offline only
   * those persisted online that no live node holds are (their node died while no one
   * watched). A device that connected moments ago may not be announced yet: left alone.
   */
  private async reconcilePresence(): Promise<void> {
    const { store } = this.options;
    const now = this.clock.now();
    let after: string | undefined;
    do {
      const page = await store.devices.list({ online: true, limit: 1000, ...(after ? { after } : {}) });
      const devices = page.items.filter((d) => d.connectedAt === null || now - d.connectedAt >= 10_000);
      let next = 0;
      const worker = async () => {
        for (let device = devices[next++]; device; device = devices[next++]) {
          if ((await this.bus.presence.locate(device.id)) !== undefined) continue;
          await store.devices.setPresence(device.id, {
            online: false,
            lastSeenAt: device.lastSeenAt ?? now,
            ifConnectedAt: device.connectedAt,
          });
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      after = page.nextCursor;
    } while (after);
  }

  /**
   * A node died holding this device's session (the bus reaped it; exactly one node gets
   * here per session): record it offline, log it and tell every node, as its own node would
   * have done with reason `connection_lost`.
   */
  private async orphaned(orphan: OrphanedSession): Promise<void> {
    if ((await this.bus.presence.locate(orphan.deviceId)) !== undefined) return; // already back elsewhere
    const now = this.clock.now();
    const event: PresenceEvent = {
      type: "presence",
      deviceId: orphan.deviceId,
      at: now,
      online: false,
      reason: "connection_lost",
      sessionId: orphan.sessionId,
      nodeId: orphan.nodeId,
    };
    const device = await this.options.store.devices.get(orphan.deviceId);
    if (!device) return; // deleted meanwhile
    // Only while the dead node's session is the stored one: a reconnect elsewhere wins.
    await this.options.store.devices.setPresence(orphan.deviceId, {
      online: false,
      lastSeenAt: device.lastSeenAt ?? now,
      ifConnectedAt: orphan.connectedAt,
    });
    this.eventLog.append(orphan.deviceId, "disconnected", event.reason, { sessionId: orphan.sessionId }, now);
    await this.bus.publish(event);
  }

  /** Serves `/ws` (or `path`) on an HTTP(S) server. */
  attach(
    server: HttpServer | HttpsServer,
    path = "/ws",
    options: HubWebSocketServerOptions = {},
  ): HubWebSocketServer {
    const wsServer = new HubWebSocketServer(this.hub, options).attach(server, path);
    this.servers.push(wsServer);
    return wsServer;
  }

  /** A WebSocket server without attaching, for servers that route upgrades themselves. */
  webSocketServer(options: HubWebSocketServerOptions = {}): HubWebSocketServer {
    const wsServer = new HubWebSocketServer(this.hub, options);
    this.servers.push(wsServer);
    return wsServer;
  }

  /**
   * Graceful shutdown: bye to every device with jittered retry-after, then the buffered
   * writes (status, event log, presence) get `flushGraceMs` (default 5 s, wall clock) to
   * reach the store; what does not goes to the journal. What even the journal refuses is
   * logged at error level, counted per kind, and reported in `lost`.
   */
  async close(
    options: { spreadMs?: number; graceMs?: number; flushGraceMs?: number } = {},
  ): Promise<ShutdownReport> {
    this.clock.clearInterval(this.retentionTimer);
    // The bus may outlive this Cloud (the caller owns it): a closed Cloud takes no orphans.
    this.offOrphaned();
    this.jobs.close();
    this.broker.close();
    this.state.close();
    const flushGraceMs = options.flushGraceMs ?? 5_000;
    const until = Date.now() + flushGraceMs;
    const presence = await this.hub.close({ ...options, flushGraceMs });
    await Promise.all(this.servers.map((s) => s.close(options.graceMs)));
    this.authFailures.close();
    // The disconnections just logged are in the event-log buffer; status and events share what is left.
    const left = Math.max(0, until - Date.now());
    const [status, event] = await Promise.all([this.status.close(left), this.eventLog.close(left)]);
    this.devices.close();
    this.unsubscribe();
    this.journal?.close();
    const report: ShutdownReport = {
      journaled: { status: status.journaled, event: event.journaled, presence: presence.journaled },
      lost: { status: status.lost, event: event.lost, presence: presence.lost },
    };
    const logger = this.options.logger ?? silentLogger;
    if (Object.values(report.lost).some((n) => n > 0))
      logger.error({ lost: report.lost, journaled: report.journaled }, "shutdown lost buffered writes");
    else if (Object.values(report.journaled).some((n) => n > 0))
      logger.warn(
        { journaled: report.journaled, journal: this.journal?.path },
        "buffered writes journaled for the next start",
      );
    return report;
  }
}
