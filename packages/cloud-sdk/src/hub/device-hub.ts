import { randomUUID } from "node:crypto";
import {
  CloseCode,
  DEFAULT_LIMITS,
  type DecodeLimits,
  type DocumentLimits,
  decode,
  documentLimitsFor,
  ErrorCode,
  formatRetryAfter,
  type HubPdu,
  type Pdu,
  ProtocolError,
  resolveLimits,
} from "@cloudedge/protocol";
import { EventEmitter } from "eventemitter3";
import type { DeviceAuthenticator } from "../auth/device-authenticator.js";
import type { ResumeTokens } from "../auth/resume-tokens.js";
import type { BusReply, BusRequestKind, BusRequestOf, ClusterBus } from "../cluster/cluster-bus.js";
import type { PresenceEvent, PresenceReason } from "../events.js";
import type { DeviceRepository } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { type Logger, silentLogger } from "../util/logger.js";
import type { CloseOutcome, Spill } from "../util/write-behind.js";
import { Admission, type AdmissionOptions } from "./admission.js";
import type { ConnectionHandle, DeviceConnection } from "./connection.js";
import { type Accepted, type AuthFailure, type HandshakeContributor, Handshakes } from "./handshake.js";
import { type HubStats, newHubStats } from "./hub-stats.js";
import type { PresenceOp } from "./presence-ops.js";
import { PresenceWriter } from "./presence-writer.js";
import { Session } from "./session.js";

export type { HandshakeContributor, HandshakeState } from "./handshake.js";
export type { HubStats } from "./hub-stats.js";

export interface DeviceHubOptions extends AdmissionOptions {
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
  /** A session whose unsent bytes exceed this is closed (4011). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Decode limits; maxFrameBytes is also the WebSocket maxPayload. */
  limits?: Partial<DecodeLimits>;
  /** How often lastSeen of live sessions is persisted. Default 5 min. */
  presenceFlushMs?: number;
  /** Where presence writes the store refused are journaled (Cloud wires its WriteJournal). */
  presenceSpill?: Spill<PresenceOp>;
}

/** Typed hub events. */
export interface DeviceHubEvents {
  /** A device went online or offline (with reason). */
  presence: (event: PresenceEvent) => void;
  /** A session is online and `welcome` was sent: queued commands may flow. */
  online: (session: Session) => void;
  /** A PDU from an online device, other than ping/pong/bye (those the hub handles). */
  /** `frameBytes`: the size of the frame it came in, an upper bound on any document it carries. */
  pdu: (session: Session, pdu: Pdu, frameBytes: number) => void;
  /** A handshake failed (for the event log and metrics); never carries credentials. */
  authFailed: (failure: AuthFailure) => void;
}

/** Handles one kind of bus request for a device with a session on this node. */
export type SessionRequestHandler<K extends BusRequestKind> = (
  session: Session,
  request: BusRequestOf<K>,
) => Promise<BusReply>;

/**
 * Holds device sessions (docs/protocol.md §4): one session per device, heartbeat liveness
 * by a single sweep (no timer per connection), backpressure, graceful shutdown. A facade
 * over its parts: admission control (admission.ts), handshakes up to welcome
 * (handshake.ts) and presence persistence (presence-writer.ts). Commands, state and status
 * are handled by the services listening to `pdu` and serving bus requests.
 */
export class DeviceHub extends EventEmitter<DeviceHubEvents> {
  readonly heartbeatMs: number;
  readonly limits: DecodeLimits;
  /**
   * What every document a device or the API gives the hub must keep (derived from
   * `limits`, docs/protocol.md §2.2): whatever passes them the hub can always send.
   */
  readonly documentLimits: DocumentLimits;
  readonly stats: HubStats = newHubStats();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sessions = new Map<string, Session>();
  private readonly sessionsByConnection = new Map<DeviceConnection, Session>();
  private readonly admission: Admission;
  private readonly handshakes: Handshakes;
  private readonly presence: PresenceWriter;
  private readonly sweepTimer: unknown;
  private readonly unserve: () => void;
  private lastPresenceFlush: number;

  constructor(private readonly options: DeviceHubOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.heartbeatMs = options.heartbeatMs ?? 30_000;
    this.limits = resolveLimits(options.limits ?? DEFAULT_LIMITS);
    this.documentLimits = documentLimitsFor(this.limits);
    this.lastPresenceFlush = this.clock.now();
    this.admission = new Admission(options, this.stats);
    this.presence = new PresenceWriter(options.devices, this.logger, this.clock, options.presenceSpill);
    const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.handshakes = new Handshakes({
      authenticator: options.authenticator,
      limits: this.limits,
      clock: this.clock,
      logger: this.logger,
      stats: this.stats,
      helloTimeoutMs,
      accepted: (connection, accepted) => this.open(connection, accepted),
      failed: (failure) => this.emit("authFailed", failure),
    });
    // One sweep for every deadline: hello timeouts, heartbeat timeouts, coarse lastSeen.
    const sweepMs = Math.max(50, Math.min(this.heartbeatMs / 4, helloTimeoutMs / 4));
    this.sweepTimer = this.clock.setInterval(() => this.sweep(), sweepMs);
    this.unserve = this.serve("disconnect", async (session, request) => {
      if (session.id !== request.keepSessionId) this.closeSession(session, request.closeCode, request.reason);
      return { ok: true };
    });
  }

  /**
   * Serves one kind of bus request for devices with a session on this node (the broker
   * serves `deliver`, the state service `desired`); `{ok: false}` for a device without one.
   * Like `ClusterBus.serve`, a second handler for a kind is refused.
   */
  serve<K extends BusRequestKind>(kind: K, handler: SessionRequestHandler<K>): () => void {
    // Not async (one promise hop fewer on every delivery): the handler's promise as it is.
    return this.options.bus.serve(kind, (deviceId, request) => {
      const session = this.sessions.get(deviceId);
      return session ? handler(session, request) : Promise.resolve({ ok: false });
    });
  }

  /**
   * Adds to what `welcome` says: each contributor (the state service: desired/reported
   * versions) returns its part, merged in registration order over the defaults.
   */
  onHandshake(contributor: HandshakeContributor): () => void {
    return this.handshakes.contribute(contributor);
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
    const refusal = this.admission.refusal(
      this.sessions.size,
      this.handshakes.size,
      this.handshakes.from(connection.remoteAddress),
    );
    if (refusal) connection.close(refusal.closeCode, refusal.reason);
    else this.handshakes.open(connection);
    return handle;
  }

  private onMessage(connection: DeviceConnection, data: string | Uint8Array): void {
    const session = this.sessionsByConnection.get(connection);
    if (session) this.onSessionMessage(session, data);
    else this.handshakes.message(connection, data);
  }

  /** A handshake succeeded: the device's one session, welcome, presence, then what it queued. */
  private open(connection: DeviceConnection, { hello, version, outcome, state, queued }: Accepted): void {
    const now = this.clock.now();
    const deviceId = outcome.deviceId;
    const previous = this.sessions.get(deviceId);
    if (previous) this.closeSession(previous, CloseCode.REPLACED, "replaced");

    const session = new Session(randomUUID(), deviceId, connection, now, hello.bootId, hello.agent, version);
    session.desiredVersion = state.desiredVersion;
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
    this.presence.online(session, hello);
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
    for (const data of queued) this.onSessionMessage(session, data);
  }

  private onSessionMessage(session: Session, data: string | Uint8Array): void {
    if (session.closed) return;
    session.lastSeen = this.clock.now();
    const result = decode(data, { from: "device", limits: this.limits, documents: this.documentLimits });
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
        this.emit("pdu", session, pdu, typeof data === "string" ? Buffer.byteLength(data) : data.byteLength);
    }
  }

  private onClosed(connection: DeviceConnection, code: number): void {
    if (this.handshakes.forget(connection)) return;
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
    if (this.sessions.get(session.deviceId) === session) {
      this.sessions.delete(session.deviceId);
      this.stats.sessions = this.sessions.size;
      void this.options.bus.release(session.deviceId).catch(() => {});
      // A replaced session's device is online still: its successor's write says so.
      if (reason !== "replaced") this.presence.offline(session);
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
    this.checkBackpressure(session);
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
    return this.checkBackpressure(session);
  }

  /** Closes a session whose unsent bytes passed the bound; false when it did. */
  private checkBackpressure(session: Session): boolean {
    if (session.connection.bufferedAmount <= (this.options.maxBufferedBytes ?? 1024 * 1024)) return true;
    this.stats.backpressureCloses++;
    this.closeSession(session, CloseCode.BACKPRESSURE, "server_closed", "backpressure");
    return false;
  }

  /** The one periodic task: hello deadlines, heartbeat deadlines, coarse lastSeen persistence. */
  sweep(): void {
    const now = this.clock.now();
    this.handshakes.sweep(now);
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
      this.presence.touch(this.sessions.values());
    }
  }

  /**
   * Graceful shutdown: every device gets `bye` with its own jittered retry-after (so the
   * restart does not cause a synchronized storm), then a SERVER_SHUTDOWN close. Presence
   * writes get `flushGraceMs` (unbounded when absent); what is left is journaled or lost.
   */
  async close(
    options: { spreadMs?: number; graceMs?: number; flushGraceMs?: number } = {},
  ): Promise<CloseOutcome> {
    if (this.admission.shuttingDown) return { lost: 0, journaled: 0 };
    this.admission.shutDown();
    this.clock.clearInterval(this.sweepTimer);
    this.unserve();
    const spreadMs = options.spreadMs ?? 30_000;
    const retryAfterMs = () => this.admission.jitter(1_000, spreadMs);
    this.handshakes.closeAll(retryAfterMs);
    for (const session of [...this.sessions.values()]) {
      const after = retryAfterMs();
      this.sendTo(session, { type: "bye", reason: "server_shutdown", retryAfterMs: after });
      this.closeSession(session, CloseCode.SERVER_SHUTDOWN, "server_shutdown", formatRetryAfter(after));
    }
    return this.presence.close(options.flushGraceMs);
  }
}
