import type { ConnectionState, ErrorPdu, ReconnectAdvice } from "@cloudedge/protocol";
import type { CommandOutcome } from "./command-runner.js";
import type { EdgeError } from "./errors.js";
import type { DesiredChange } from "./state-sync.js";

/** Why the client went offline and what it does next. */
export interface OfflineInfo {
  /** WebSocket close code (1006: no close frame; also used for local drops). */
  code: number;
  /** Close reason, or the local reason (`pong_timeout`, `handshake_timeout`, `resync`, …). */
  reason: string;
  /** What the close code advises (§4.4). */
  advice: ReconnectAdvice;
  /** Wait before the next attempt. */
  delayMs: number;
  /** Consecutive failed attempts. */
  attempt: number;
  /** Whether the session had reached `welcome`. */
  wasOnline: boolean;
}

/** Typed events of EdgeClient. */
export interface EdgeClientEvents {
  /** The connection state machine moved (docs/protocol.md §4.8). */
  state: (state: ConnectionState, previous: ConnectionState) => void;
  /** `welcome` arrived: the session is up. `viaToken` tells a token resume from a secret login. */
  online: (info: { sessionId: string; deviceId: string; heartbeatMs: number; viaToken: boolean }) => void;
  /** The connection ended (or an attempt failed); a reconnect is scheduled unless closing. */
  offline: (info: OfflineInfo) => void;
  /** Credentials or compatibility were rejected (4001, 4003, 4006, 4007, or no credentials); the client keeps retrying slowly. */
  authFailed: (info: { code: number; reason: string }) => void;
  /** A command arrived (`duplicate`: answered from the dedupe table). */
  commandReceived: (info: { id: string; method: string; duplicate: boolean }) => void;
  /** A command finished and its result was stored (and sent or queued). */
  commandFinished: (outcome: CommandOutcome) => void;
  /** A desired-state change was applied (after the handlers ran). */
  desired: (change: DesiredChange) => void;
  /** The outbox was full and dropped its oldest entries. */
  outboxDropped: (info: { dropped: number; totalDropped: number }) => void;
  /** The hub sent an `error` PDU (informational; the client never answers it). */
  peerError: (pdu: ErrorPdu) => void;
  /** A local failure (storage, encoding, a handler); the client carries on. */
  error: (error: EdgeError) => void;
}
