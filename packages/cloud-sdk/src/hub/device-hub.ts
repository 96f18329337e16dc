import { randomUUID } from "node:crypto";
import {
  CloseCode,
  DEFAULT_LIMITS,
  type DecodeLimits,
  decode,
  ErrorCode,
  formatRetryAfter,
  type HelloPdu,
  type HubPdu,
  negotiateVersion,
  type Pdu,
  ProtocolError,
  resolveLimits,
  type WelcomePdu,
} from "@cloudedge/protocol";
import { EventEmitter } from "eventemitter3";
import type { AuthOutcome, DeviceAuthenticator } from "../auth/device-authenticator.js";
import type { ResumeTokens } from "../auth/resume-tokens.js";
import type { BusReply, BusRequestKind, BusRequestOf, ClusterBus } from "../cluster/cluster-bus.js";
import type { PresenceEvent, PresenceReason } from "../events.js";
import type { DeviceRepository } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { type Logger, silentLogger } from "../util/logger.js";
import type { ConnectionHandle, DeviceConnection } from "./connection.js";
import { Session } from "./session.js";

export interface DeviceHubOptions {
  devices: DeviceRepository;
  authenticator: DeviceAuthenticator;
  tokens: ResumeTokens;
  bus: ClusterBus;
  clock?: Clock;
  logger?: Logger;
  /** Heartbeat interval told to devices in `welcome`. Default 30 s. */
  heartbeatMs?: number;
  /** The first PDU must arrive within this. Default 10 s. */
  helloTimeoutMs?: number;
  /** Sessions plus pending handshakes beyond which new connections are told to try later. Default 19,000. */
  maxSessions?: number;
  /**
   * Connections between upgrade and welcome beyond which new ones are told to try later.
   * Default 10,000: token resumes are cheap; the expensive bcrypt path has its own bound
   * (DeviceAuthenticator.maxConcurrentSecretChecks).
   */
  maxHandshakes?: number;
  /** A session whose unsent bytes exceed this is closed (4011). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Decode limits; maxFrameBytes is also the WebSocket maxPayload. */
  limits?: Partial<DecodeLimits>;
  /** How often lastSeen of live sessions is persisted. Default 5 min. */
  presenceFlushMs?: number;
  /** Retry-after range for TRY_LATER closes, [min, max] ms. Default [1 s, 5 s]: a storm drains in seconds (bench: storm). */
  tryLaterMs?: [number, number];
  random?: () => number;
}

/** What a handshake tells the device in `welcome` about its state. */
export interface HandshakeState {
  reportedVersion: number;
  /** The desired version the device has once it processed `welcome`. */
  desiredVersion: number;
  desired?: WelcomePdu["desired"];
}

/** Typed hub events. */
export interface DeviceHubEvents {
  /** A device went online or offline (with reason). */
  presence: (event: PresenceEvent) => void;
  /** A session is online and `welcome` was sent: queued commands may flow. */
  online: (session: Session) => void;
  /** A PDU from an online device, other than ping/pong/bye (those the hub handles). */
  pdu: (session: Session, pdu: Pdu) => void;
  /** A handshake failed (for the event log and metrics); never carries credentials. */
  authFailed: (failure: { deviceId?: string; reason: string; remoteAddress: string; at: number }) => void;
}

/** Handles one kind of bus request for a device with a session on this node. */
export type SessionRequestHandler<K extends BusRequestKind> = (
  session: Session,
  request: BusRequestOf<K>,
) => Promise<BusReply>;

/** Part of what `welcome` says, from one service (see `DeviceHub.onHandshake`). */
export type HandshakeContributor = (deviceId: string, hello: HelloPdu) => Promise<Partial<HandshakeState>>;

type Pending = { state: "hello" | "auth"; openedAt: number; queued: Array<string | Uint8Array> };

/** Counters for metrics and benchmarks. */
export interface HubStats {
  sessions: number;
  pendingHandshakes: number;
  handshakes: { ok: number; viaToken: number; viaSecret: number; failed: Record<string, number> };
  tryLater: number;
  heartbeatTimeouts: number;
  protocolErrors: number;
  backpressureCloses: number;
}

/**
 * Holds device sessions (docs/protocol.md §4): handshake with hello deadline, version
 * negotiation, auth by token or secret, one session per device, heartbeat liveness by a
 * single sweep (no timer per connection), admission control, backpressure, graceful
 * shutdown. Commands, state and status are handled by the services listening to `pdu`.
 */
export class DeviceHub extends EventEmitter<DeviceHubEvents> {
  readonly heartbeatMs: number;
  readonly limits: DecodeLimits;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<DeviceConnection, Pending>();
  private readonly sessionsByConnection = new Map<DeviceConnection, Session>();
  private readonly sweepTimer: unknown;
  private lastPresenceFlush: number;
  private shuttingDown = false;
  readonly stats: HubStats = {
    sessions: 0,
    pendingHandshakes: 0,
    handshakes: { ok: 0, viaToken: 0, viaSecret: 0, failed: {} },
    tryLater: 0,
    heartbeatTimeouts: 0,
    protocolErrors: 0,
    backpressureCloses: 0,
  };

  constructor(private readonly options: DeviceHubOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.heartbeatMs = options.heartbeatMs ?? 30_000;
    this.limits = resolveLimits(options.limits ?? DEFAULT_LIMITS);
    this.lastPresenceFlush = this.clock.now();
    // One sweep for every deadline: hello timeouts, heartbeat timeouts, coarse lastSeen.
    const sweepMs = Math.max(50, Math.min(this.heartbeatMs / 4, (options.helloTimeoutMs ?? 10_000) / 4));
    this.sweepTimer = this.clock.setInterval(() => this.sweep(), sweepMs);
    this.unserve = this.serve("disconnect", async (session, request) => {
      if (session.id !== request.keepSessionId) this.closeSession(session, request.closeCode, request.reason);
      return { ok: true };
    });
  }

  private readonly unserve: () => void;
  private readonly handshakeContributors: HandshakeContributor[] = [];

  /**
   * Serves one kind of bus request for devices with a session on this node (the broker
   * serves `deliver`, the state service `desired`); `{ok: false}` for a device without one.
   * Like `ClusterBus.serve`, a second handler for a kind is refused.
   */
  serve<K extends BusRequestKind>(kind: K, handler: SessionRequestHandler<K>): () => void {
    return this.options.bus.serve(kind, async (deviceId, request) => {
      const session = this.sessions.get(deviceId);
      return session ? handler(session, request) : { ok: false };
    });
  }

  /**
   * Adds to what `welcome` says: each contributor (the state service: desired/reported
   * versions) returns its part, merged in registration order over the defaults.
   */
  onHandshake(contributor: HandshakeContributor): void {
    this.handshakeContributors.push(contributor);
  }

  private async handshakeState(deviceId: string, hello: HelloPdu): Promise<HandshakeState> {
    const parts = await Promise.all(
      this.handshakeContributors.map((contribute) => contribute(deviceId, hello)),
    );
    return Object.assign({ reportedVersion: 0, desiredVersion: hello.desiredVersion }, ...parts);
  }

  /** The live session of a device on this node. */
  session(deviceId: string): Session | undefined {
    return this.sessions.get(deviceId);
  }

  /** Ids of devices online on this node. */
  onlineDeviceIds(): IterableIterator<string> {
    return this.sessions.keys();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Sends a PDU to a device on this node; false when it has no session here. */
  send(deviceId: string, pdu: HubPdu): boolean {
    const session = this.sessions.get(deviceId);
    if (!session) return false;
    return this.sendTo(session, pdu);
  }

  /** Closes a device's session on this node (rotation, disabling, deletion, operator). */
  disconnect(deviceId: string, closeCode: CloseCode, reason: PresenceReason): boolean {
    const session = this.sessions.get(deviceId);
    if (!session) return false;
    this.closeSession(session, closeCode, reason);
    return true;
  }

  /**
   * Takes a new transport connection. Admission control happens here: over the session or
   * handshake bound, the connection is closed at once with TRY_LATER and a jittered hint.
   */
  accept(connection: DeviceConnection): ConnectionHandle {
    const handle: ConnectionHandle = {
      message: (data) => this.onMessage(connection, data),
      closed: (code) => this.onClosed(connection, code),
    };
    if (this.shuttingDown) {
      connection.close(CloseCode.SERVER_SHUTDOWN, formatRetryAfter(this.jitter(5_000, 30_000)));
      return handle;
    }
    const maxSessions = this.options.maxSessions ?? 19_000;
    const maxHandshakes = this.options.maxHandshakes ?? 10_000;
    if (this.pending.size >= maxHandshakes || this.sessions.size + this.pending.size >= maxSessions) {
      this.stats.tryLater++;
      const [min, max] = this.options.tryLaterMs ?? [1_000, 5_000];
      connection.close(CloseCode.TRY_LATER, formatRetryAfter(this.jitter(min, max)));
      return handle;
    }
    this.pending.set(connection, { state: "hello", openedAt: this.clock.now(), queued: [] });
    this.stats.pendingHandshakes = this.pending.size;
    return handle;
  }

  private onMessage(connection: DeviceConnection, data: string | Uint8Array): void {
    const session = this.sessionsByConnection.get(connection);
    if (session) {
      this.onSessionMessage(session, data);
      return;
    }
    const pending = this.pending.get(connection);
    if (!pending) return; // closing: ignore stragglers
    if (pending.state === "auth") {
      // A device that pipelines PDUs after hello: keep a few for after welcome.
      if (pending.queued.length >= 16) this.reject(connection, ErrorCode.UNEXPECTED_PDU, "wait for welcome");
      else pending.queued.push(data);
      return;
    }
    const result = decode(data, { from: "device", limits: this.limits });
    if (!result.ok) {
      // Before authentication every bad input ends the connection.
      this.stats.protocolErrors++;
      this.sendRaw(connection, result.error.toPdu());
      connection.close(result.error.closeCode ?? CloseCode.PROTOCOL_VIOLATION, result.error.code);
      this.forget(connection);
      return;
    }
    if (result.pdu.type !== "hello") {
      this.reject(connection, ErrorCode.HELLO_REQUIRED, "the first PDU must be hello");
      return;
    }
    pending.state = "auth";
    void this.handshake(connection, pending, result.pdu);
  }

  private async handshake(connection: DeviceConnection, pending: Pending, hello: HelloPdu): Promise<void> {
    const version = negotiateVersion(hello.versions);
    if (version === undefined) {
      this.reject(
        connection,
        ErrorCode.UNSUPPORTED_VERSION,
        "no common protocol version",
        CloseCode.UNSUPPORTED_VERSION,
      );
      return;
    }
    let outcome: AuthOutcome;
    let state: HandshakeState;
    try {
      outcome = await this.options.authenticator.authenticate(hello, connection.remoteAddress);
      if (!outcome.ok) {
        this.failHandshake(connection, outcome);
        return;
      }
      state = await this.handshakeState(outcome.deviceId, hello);
    } catch (error) {
      this.logger.error({ err: String(error) }, "handshake failed");
      this.reject(connection, ErrorCode.INTERNAL_ERROR, "try again later", CloseCode.INTERNAL_ERROR);
      return;
    }
    if (this.pending.get(connection) !== pending) return; // the device hung up meanwhile

    const now = this.clock.now();
    const deviceId = outcome.deviceId;
    const previous = this.sessions.get(deviceId);
    if (previous) this.closeSession(previous, CloseCode.REPLACED, "replaced");

    const session = new Session(randomUUID(), deviceId, connection, now, hello.bootId, hello.agent, version);
    session.desiredVersion = state.desiredVersion;
    this.forget(connection);
    this.sessions.set(deviceId, session);
    this.sessionsByConnection.set(connection, session);
    this.stats.sessions = this.sessions.size;
    this.stats.handshakes.ok++;
    if (outcome.via === "token") this.stats.handshakes.viaToken++;
    else this.stats.handshakes.viaSecret++;

    const { token, expiresAt } = this.options.tokens.issue(deviceId, outcome.generation, now);
    this.sendTo(session, {
      type: "welcome",
      version,
      sessionId: session.id,
      deviceId,
      heartbeatMs: this.heartbeatMs,
      token,
      tokenExpiresAt: expiresAt,
      serverTime: now,
      maxFrameBytes: this.limits.maxFrameBytes,
      reportedVersion: state.reportedVersion,
      ...(state.desired ? { desired: state.desired } : {}),
    });
    this.logger.info(
      { deviceId, sessionId: session.id, via: outcome.via, remote: connection.remoteAddress },
      "device online",
    );

    this.onlineWrites.set(
      session,
      this.persist(() =>
        this.options.devices.setPresence(deviceId, { online: true, connectedAt: now, lastSeenAt: now }),
      ),
    );
    if (hello.hardware || hello.software) {
      void this.persist(async () => {
        await this.options.devices.update(
          deviceId,
          {
            ...(hello.hardware ? { hardware: { ...hello.hardware, nics: hello.hardware.nics ?? [] } } : {}),
            ...(hello.software ? { software: hello.software } : {}),
          },
          now,
        );
      });
    }
    // One session per device cluster-wide: any other node holding it lets go (keeping ours).
    void this.options.bus
      .hold(deviceId, { sessionId: session.id, connectedAt: now })
      .then(() =>
        this.options.bus.request(deviceId, {
          kind: "disconnect",
          closeCode: CloseCode.REPLACED,
          reason: "replaced",
          keepSessionId: session.id,
        }),
      )
      .catch((error: unknown) => this.logger.warn({ deviceId, err: String(error) }, "cluster hold failed"));
    this.emitPresence(session, true, "connected");
    this.emit("online", session);
    for (const data of pending.queued) this.onSessionMessage(session, data);
  }

  private failHandshake(connection: DeviceConnection, outcome: Extract<AuthOutcome, { ok: false }>): void {
    if (outcome.reason === "busy") {
      this.stats.tryLater++; // admission, not a failed login: not logged against the device
    } else {
      const failed = this.stats.handshakes.failed;
      failed[outcome.reason] = (failed[outcome.reason] ?? 0) + 1;
    }
    if (outcome.reason !== "busy")
      this.emit("authFailed", {
        ...(outcome.deviceId !== undefined ? { deviceId: outcome.deviceId } : {}),
        reason: outcome.reason,
        remoteAddress: connection.remoteAddress,
        at: this.clock.now(),
      });
    const pdu: HubPdu = {
      type: "error",
      code: outcome.code,
      message:
        outcome.code === ErrorCode.AUTH_FAILED ? "authentication failed" : outcome.code.replace(/_/g, " "),
      ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}),
    };
    this.sendRaw(connection, pdu);
    connection.close(
      outcome.closeCode,
      outcome.retryAfterMs !== undefined ? formatRetryAfter(outcome.retryAfterMs) : outcome.code,
    );
    this.forget(connection);
  }

  private onSessionMessage(session: Session, data: string | Uint8Array): void {
    if (session.closed) return;
    session.lastSeen = this.clock.now();
    const result = decode(data, { from: "device", limits: this.limits });
    if (!result.ok) {
      this.stats.protocolErrors++;
      this.sendTo(session, result.error.toPdu());
      if (result.error.closeCode !== undefined) {
        this.closeSession(session, result.error.closeCode, "server_closed", result.error.code);
      }
      return;
    }
    const pdu = result.pdu;
    switch (pdu.type) {
      case "ping":
        // The hottest path: a pong from a template (seq was validated by decode) skips the
        // generic encode-and-validate (bench: ~30 → ~22 µs of hub CPU per heartbeat).
        this.sendText(session, `{"type":"pong","seq":${pdu.seq},"serverTime":${session.lastSeen}}`);
        return;
      case "hello": {
        const error = new ProtocolError(ErrorCode.UNEXPECTED_PDU, "already authenticated");
        this.sendTo(session, error.toPdu());
        this.closeSession(session, CloseCode.PROTOCOL_VIOLATION, "server_closed", error.code);
        return;
      }
      case "bye":
        session.closeReason = "client_closed";
        return;
      case "error":
        this.logger.warn({ deviceId: session.deviceId, code: pdu.code }, "device reported a protocol error");
        return;
      default:
        this.emit("pdu", session, pdu);
    }
  }

  private onClosed(connection: DeviceConnection, code: number): void {
    if (this.forget(connection)) return;
    const session = this.sessionsByConnection.get(connection);
    if (!session) return;
    this.sessionsByConnection.delete(connection);
    if (session.closed) return; // the hub closed it and already accounted for it
    const reason: PresenceReason =
      session.closeReason ?? (code === 1000 || code === 1001 ? "client_closed" : "connection_lost");
    this.endSession(session, reason);
  }

  /** Closes a session with a code and records why. */
  private closeSession(
    session: Session,
    closeCode: number,
    reason: PresenceReason,
    closeReason?: string,
  ): void {
    if (session.closed) return;
    session.closeReason = reason;
    session.connection.close(closeCode, closeReason ?? reason);
    this.endSession(session, reason);
  }

  private endSession(session: Session, reason: PresenceReason): void {
    if (session.closed) return;
    session.closed = true;
    session.closeReason = reason;
    const current = this.sessions.get(session.deviceId) === session;
    if (current) {
      this.sessions.delete(session.deviceId);
      this.stats.sessions = this.sessions.size;
      void this.options.bus.release(session.deviceId).catch(() => {});
      if (reason !== "replaced") {
        const lastSeenAt = session.lastSeen;
        const online = this.onlineWrites.get(session);
        // After this session's own online write, and only while it is the stored session: in
        // a cluster the device may be back on another node before this one noticed the loss.
        void this.persist(async () => {
          await online;
          await this.options.devices.setPresence(session.deviceId, {
            online: false,
            lastSeenAt,
            ifConnectedAt: session.connectedAt,
          });
        });
      }
    }
    this.logger.info({ deviceId: session.deviceId, sessionId: session.id, reason }, "device offline");
    this.emitPresence(session, false, reason);
  }

  private emitPresence(session: Session, online: boolean, reason: PresenceReason): void {
    this.emit("presence", {
      type: "presence",
      deviceId: session.deviceId,
      at: this.clock.now(),
      online,
      reason,
      sessionId: session.id,
      nodeId: this.options.bus.nodeId,
    });
  }

  /** Sends pre-encoded text (hub-built PDUs on the hot path), with the same backpressure rule. */
  private sendText(session: Session, text: string): void {
    if (session.closed) return;
    session.connection.send(text);
    if (session.connection.bufferedAmount > (this.options.maxBufferedBytes ?? 1024 * 1024)) {
      this.stats.backpressureCloses++;
      this.closeSession(session, CloseCode.BACKPRESSURE, "server_closed", "backpressure");
    }
  }

  private sendTo(session: Session, pdu: HubPdu): boolean {
    try {
      if (!session.send(pdu)) return false;
    } catch (error) {
      // A PDU the device would reject (a bug on our side): log it, keep the session.
      this.logger.error(
        { deviceId: session.deviceId, type: pdu.type, err: String(error) },
        "refused to send an invalid PDU",
      );
      return false;
    }
    if (session.connection.bufferedAmount > (this.options.maxBufferedBytes ?? 1024 * 1024)) {
      this.stats.backpressureCloses++;
      this.closeSession(session, CloseCode.BACKPRESSURE, "server_closed", "backpressure");
      return false;
    }
    return true;
  }

  private sendRaw(connection: DeviceConnection, pdu: HubPdu): void {
    try {
      connection.send(JSON.stringify(pdu));
    } catch {
      // the connection is already gone
    }
  }

  private reject(
    connection: DeviceConnection,
    code: ErrorCode,
    message: string,
    closeCode: number = CloseCode.PROTOCOL_VIOLATION,
  ): void {
    this.stats.protocolErrors++;
    this.sendRaw(connection, { type: "error", code, message });
    connection.close(closeCode, code);
    this.forget(connection);
  }

  /** Drops a pending connection; true when it was pending. */
  private forget(connection: DeviceConnection): boolean {
    const had = this.pending.delete(connection);
    this.stats.pendingHandshakes = this.pending.size;
    return had;
  }

  /** The one periodic task: hello deadlines, heartbeat deadlines, coarse lastSeen persistence. */
  sweep(): void {
    const now = this.clock.now();
    const helloTimeoutMs = this.options.helloTimeoutMs ?? 10_000;
    for (const [connection, pending] of this.pending) {
      if (pending.state === "hello" && now - pending.openedAt >= helloTimeoutMs) {
        this.reject(connection, ErrorCode.HELLO_REQUIRED, "no hello in time", CloseCode.HELLO_TIMEOUT);
      }
    }
    const silentFor = this.heartbeatMs * 2.5;
    for (const session of this.sessions.values()) {
      if (now - session.lastSeen >= silentFor) {
        this.stats.heartbeatTimeouts++;
        this.closeSession(session, CloseCode.HEARTBEAT_TIMEOUT, "heartbeat_timeout");
      }
    }
    if (now - this.lastPresenceFlush >= (this.options.presenceFlushMs ?? 300_000)) {
      this.lastPresenceFlush = now;
      this.options.authenticator.sweep();
      const entries = [...this.sessions.values()].map((s) => ({ id: s.deviceId, lastSeenAt: s.lastSeen }));
      if (entries.length > 0) void this.persist(() => this.options.devices.touchLastSeen(entries));
    }
  }

  /**
   * Graceful shutdown: every device gets `bye` with its own jittered retry-after (so the
   * restart does not cause a synchronized storm), then a SERVER_SHUTDOWN close.
   */
  async close(options: { spreadMs?: number; graceMs?: number } = {}): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.clock.clearInterval(this.sweepTimer);
    this.unserve();
    const spreadMs = options.spreadMs ?? 30_000;
    for (const connection of [...this.pending.keys()]) {
      connection.close(CloseCode.SERVER_SHUTDOWN, formatRetryAfter(this.jitter(1_000, spreadMs)));
      this.forget(connection);
    }
    const sessions = [...this.sessions.values()];
    for (const session of sessions) {
      const retryAfterMs = this.jitter(1_000, spreadMs);
      this.sendTo(session, { type: "bye", reason: "server_shutdown", retryAfterMs });
      this.closeSession(
        session,
        CloseCode.SERVER_SHUTDOWN,
        "server_shutdown",
        formatRetryAfter(retryAfterMs),
      );
    }
    await this.drainPersistence();
  }

  private jitter(min: number, max: number): number {
    return Math.round(min + this.random() * Math.max(0, max - min));
  }

  private readonly writes = new Set<Promise<void>>();
  /** Each session's online write, which its offline write must follow. */
  private readonly onlineWrites = new WeakMap<Session, Promise<void>>();

  /** Presence writes are fire-and-forget on the hot path but awaited at shutdown. */
  private persist(write: () => Promise<unknown>): Promise<void> {
    const promise: Promise<void> = write()
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn({ err: String(error) }, "presence write failed"))
      .finally(() => this.writes.delete(promise));
    this.writes.add(promise);
    return promise;
  }

  private async drainPersistence(): Promise<void> {
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }
}
