import {
  CloseCode,
  type DecodeLimits,
  decode,
  ErrorCode,
  formatRetryAfter,
  type HelloPdu,
  type HubPdu,
  negotiateVersion,
  type WelcomePdu,
} from "@cloudedge/protocol";
import type { AuthOutcome, DeviceAuthenticator } from "../auth/device-authenticator.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { DeviceConnection } from "./connection.js";
import type { HubStats } from "./hub-stats.js";

/** What a handshake tells the device in `welcome` about its state. */
export interface HandshakeState {
  reportedVersion: number;
  /** The desired version the device has once it processed `welcome`. */
  desiredVersion: number;
  desired?: WelcomePdu["desired"];
}

/** Part of what `welcome` says, from one service (see `DeviceHub.onHandshake`). */
export type HandshakeContributor = (deviceId: string, hello: HelloPdu) => Promise<Partial<HandshakeState>>;

/** A failed handshake, for the event log and metrics; never carries credentials. */
export interface AuthFailure {
  deviceId?: string;
  /** The id the hello named when it was refused without a lookup (may not exist). */
  claimedDeviceId?: string;
  reason: string;
  remoteAddress: string;
  at: number;
}

/** A handshake that succeeded: the hub turns it into a session. */
export interface Accepted {
  hello: HelloPdu;
  version: number;
  outcome: Extract<AuthOutcome, { ok: true }>;
  state: HandshakeState;
  /** PDUs the device sent after hello, before welcome: handled once the session is up. */
  queued: Array<string | Uint8Array>;
}

export interface HandshakesOptions {
  authenticator: DeviceAuthenticator;
  limits: DecodeLimits;
  clock: Clock;
  logger: Logger;
  stats: HubStats;
  /** The first PDU must arrive within this. */
  helloTimeoutMs: number;
  accepted: (connection: DeviceConnection, accepted: Accepted) => void;
  failed: (failure: AuthFailure) => void;
}

type Pending = { state: "hello" | "auth"; openedAt: number; queued: Array<string | Uint8Array> };

/**
 * Connections between upgrade and welcome (docs/protocol.md §4.1): the hello deadline,
 * version negotiation, authentication by token or secret, the welcome state contributed by
 * the services, and the refusals — before authentication every bad input ends the connection.
 */
export class Handshakes {
  private readonly pending = new Map<DeviceConnection, Pending>();
  /** Pending handshakes per remote address (for the per-address admission bound). */
  private readonly perAddress = new Map<string, number>();
  private readonly contributors = new Set<HandshakeContributor>();

  constructor(private readonly options: HandshakesOptions) {}

  get size(): number {
    return this.pending.size;
  }

  /** Handshakes pending from one remote address. */
  from(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Adds a contributor to what `welcome` says (merged in registration order over the defaults). */
  contribute(contributor: HandshakeContributor): () => void {
    // Wrapped: the same function given twice is two contributions, removed one by one.
    const registered: HandshakeContributor = (deviceId, hello) => contributor(deviceId, hello);
    this.contributors.add(registered);
    return () => this.contributors.delete(registered);
  }

  /** A connection admitted: its hello is due within the deadline. */
  open(connection: DeviceConnection): void {
    this.pending.set(connection, { state: "hello", openedAt: this.options.clock.now(), queued: [] });
    this.perAddress.set(connection.remoteAddress, this.from(connection.remoteAddress) + 1);
    this.options.stats.pendingHandshakes = this.pending.size;
  }

  /** Takes a message of a pending connection (stragglers of a closing one are ignored). */
  message(connection: DeviceConnection, data: string | Uint8Array): void {
    const pending = this.pending.get(connection);
    if (!pending) return;
    if (pending.state === "auth") {
      // A device that pipelines PDUs after hello: keep a few for after welcome.
      if (pending.queued.length >= 16) this.reject(connection, ErrorCode.UNEXPECTED_PDU, "wait for welcome");
      else pending.queued.push(data);
      return;
    }
    const result = decode(data, { from: "device", limits: this.options.limits });
    if (!result.ok) {
      this.options.stats.protocolErrors++;
      sendRaw(connection, result.error.toPdu());
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

  /** Drops a pending connection; true when it was pending. */
  forget(connection: DeviceConnection): boolean {
    const had = this.pending.delete(connection);
    if (had) {
      const left = this.from(connection.remoteAddress) - 1;
      if (left > 0) this.perAddress.set(connection.remoteAddress, left);
      else this.perAddress.delete(connection.remoteAddress);
    }
    this.options.stats.pendingHandshakes = this.pending.size;
    return had;
  }

  /** Closes the connections whose hello is overdue. */
  sweep(now: number): void {
    for (const [connection, pending] of this.pending) {
      if (pending.state === "hello" && now - pending.openedAt >= this.options.helloTimeoutMs) {
        this.reject(connection, ErrorCode.HELLO_REQUIRED, "no hello in time", CloseCode.HELLO_TIMEOUT);
      }
    }
  }

  /** Shutdown: closes every pending connection, each with its own retry-after. */
  closeAll(retryAfterMs: () => number): void {
    for (const connection of [...this.pending.keys()]) {
      connection.close(CloseCode.SERVER_SHUTDOWN, formatRetryAfter(retryAfterMs()));
      this.forget(connection);
    }
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
        this.fail(connection, outcome);
        return;
      }
      state = await this.state(outcome.deviceId, hello);
    } catch (error) {
      this.options.logger.error({ err: String(error) }, "handshake failed");
      this.reject(connection, ErrorCode.INTERNAL_ERROR, "try again later", CloseCode.INTERNAL_ERROR);
      return;
    }
    if (this.pending.get(connection) !== pending) return; // the device hung up meanwhile
    this.forget(connection);
    this.options.accepted(connection, { hello, version, outcome, state, queued: pending.queued });
  }

  private async state(deviceId: string, hello: HelloPdu): Promise<HandshakeState> {
    const parts = await Promise.all([...this.contributors].map((contribute) => contribute(deviceId, hello)));
    return Object.assign({ reportedVersion: 0, desiredVersion: hello.desiredVersion }, ...parts);
  }

  private fail(connection: DeviceConnection, outcome: Extract<AuthOutcome, { ok: false }>): void {
    const { stats } = this.options;
    if (outcome.reason === "busy") {
      stats.tryLater++; // admission, not a failed login: not logged against the device
    } else {
      stats.handshakes.failed[outcome.reason] = (stats.handshakes.failed[outcome.reason] ?? 0) + 1;
      this.options.failed({
        ...(outcome.deviceId !== undefined ? { deviceId: outcome.deviceId } : {}),
        ...(outcome.claimedDeviceId !== undefined ? { claimedDeviceId: outcome.claimedDeviceId } : {}),
        reason: outcome.reason,
        remoteAddress: connection.remoteAddress,
        at: this.options.clock.now(),
      });
    }
    sendRaw(connection, {
      type: "error",
      code: outcome.code,
      message:
        outcome.code === ErrorCode.AUTH_FAILED ? "authentication failed" : outcome.code.replace(/_/g, " "),
      ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}),
    });
    connection.close(
      outcome.closeCode,
      outcome.retryAfterMs !== undefined ? formatRetryAfter(outcome.retryAfterMs) : outcome.code,
    );
    this.forget(connection);
  }

  private reject(
    connection: DeviceConnection,
    code: ErrorCode,
    message: string,
    closeCode: number = CloseCode.PROTOCOL_VIOLATION,
  ): void {
    this.options.stats.protocolErrors++;
    sendRaw(connection, { type: "error", code, message });
    connection.close(closeCode, code);
    this.forget(connection);
  }
}

/** Sends a PDU on a connection that has no session (yet). */
function sendRaw(connection: DeviceConnection, pdu: HubPdu): void {
  try {
    connection.send(JSON.stringify(pdu));
  } catch {
    // the connection is already gone
  }
}
