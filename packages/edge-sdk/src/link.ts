import {
  type ConnectionEvent,
  type ConnectionState,
  connectionTransition,
  DEFAULT_DOCUMENT_LIMITS,
  type DevicePdu,
  type ErrorPdu,
  encode,
  type PongPdu,
  type WelcomePdu,
} from "@cloudedge/protocol";
import type { EventEmitter } from "eventemitter3";
import type { Backoff } from "./backoff.js";
import type { ClientStore } from "./client-store.js";
import type { Clock } from "./clock.js";
import type { Credentials } from "./credentials.js";
import { EdgeErrorCode } from "./errors.js";
import type { EdgeClientEvents } from "./events.js";
import type { Fail } from "./fail.js";
import { Heartbeat } from "./heartbeat.js";
import type { Logger } from "./logger.js";
import { closeQuietly, detach, SOCKET_OPEN, type SocketFactory, type SocketLike } from "./transport.js";

/** What the link needs from the client around it. */
export interface LinkDeps {
  url: string;
  clock: Clock;
  logger: Logger;
  createSocket: SocketFactory;
  backoff: Backoff;
  credentials: Credentials;
  store: ClientStore;
  handshakeTimeoutMs: number;
  /** Where `state`, `offline` and `authFailed` go (the client). */
  events: EventEmitter<EdgeClientEvents>;
  fail: Fail;
  /** The socket opened: say `hello` on it. */
  onOpen: (socket: SocketLike) => void;
  /** A frame arrived on the current socket. */
  onMessage: (socket: SocketLike, data: unknown) => void;
}

interface SocketEnd {
  code: number;
  reason: string;
  onlineMs: number;
  wasOnline: boolean;
}

/**
 * The connection lifecycle, apart from what travels on it (as socket.io-client keeps its
 * manager apart from its socket): the state machine (§4.8), opening a socket, the handshake
 * deadline, the heartbeat and its pong deadline (§4.3), ending a socket, and backoff with
 * the hub's retry-after hint (§4.4). Frames go out through `send`/`rawSend`, capped at the
 * frame size the hub granted.
 */
export class Link {
  private connState: ConnectionState = "idle";
  private current: SocketLike | undefined;
  private heartbeat: Heartbeat | undefined;
  private handshakeTimer: unknown;
  private retryTimer: unknown;
  private onlineSince = 0;
  private retryAfterMs: number | undefined;
  private lastHeartbeatMs: number | undefined;
  private offsetMs = 0;
  /** The session `welcome` opened; undefined while not online. */
  session: { id: string; heartbeatMs: number } | undefined;
  /** §2.1: the largest frame the hub accepts (welcome.maxFrameBytes; 256 KiB before it). */
  maxFrameBytes = 262_144;
  // Reused by every send (a ping per heartbeat): rebuilt only when welcome changes the limit.
  private encodeOptions = { limits: { maxFrameBytes: 262_144 }, documents: DEFAULT_DOCUMENT_LIMITS };

  constructor(private readonly deps: LinkDeps) {}

  get state(): ConnectionState {
    return this.connState;
  }

  /** The socket of the current attempt or session. */
  get socket(): SocketLike | undefined {
    return this.current;
  }

  /** True while a session is up (after `welcome`) and its socket is open. */
  get online(): boolean {
    return this.connState === "online" && this.current?.readyState === SOCKET_OPEN;
  }

  /** Estimated hub time (device time + offset measured by the heartbeat). */
  hubNow(): number {
    return this.deps.clock.now() + this.offsetMs;
  }

  transition(event: ConnectionEvent): void {
    const previous = this.connState;
    this.connState = connectionTransition(previous, event);
    if (this.connState !== previous) this.deps.events.emit("state", this.connState, previous);
  }

  /** Opens a socket for the next attempt, or goes to backoff when that cannot be done. */
  open(): void {
    const { deps } = this;
    if (!deps.credentials.forHello(this.hubNow())) {
      deps.fail(EdgeErrorCode.NO_CREDENTIALS, "no secret and no resume token configured");
      this.transition("disconnect");
      this.afterDisconnect({ code: 4001, reason: "no_credentials", onlineMs: 0, wasOnline: false });
      return;
    }
    this.retryAfterMs = undefined;
    let socket: SocketLike;
    try {
      socket = deps.createSocket(deps.url);
    } catch (error) {
      deps.fail(EdgeErrorCode.SOCKET_ERROR, "could not open a WebSocket", error);
      this.transition("disconnect");
      this.afterDisconnect({ code: 1006, reason: "socket_error", onlineMs: 0, wasOnline: false });
      return;
    }
    this.current = socket;
    this.handshakeTimer = deps.clock.setTimeout(
      () => this.drop(socket, 1006, "handshake_timeout"),
      deps.handshakeTimeoutMs,
    );
    socket.onopen = () => {
      if (socket !== this.current) return;
      this.transition("open");
      deps.onOpen(socket);
    };
    socket.onmessage = (event) => {
      if (socket === this.current) deps.onMessage(socket, event.data);
    };
    socket.onerror = () => {
      if (socket === this.current) deps.logger.debug({}, "websocket error");
    };
    socket.onclose = (event) => this.onSocketEnd(socket, event.code, event.reason ?? "");
  }

  /** `welcome` arrived: the handshake is over and the session up. Returns the device time of it. */
  welcome(welcome: WelcomePdu): number {
    this.deps.clock.clearTimeout(this.handshakeTimer);
    this.transition("welcome");
    const now = this.deps.clock.now();
    this.onlineSince = now;
    this.offsetMs = welcome.serverTime - now; // refined by the first pong
    this.session = { id: welcome.sessionId, heartbeatMs: welcome.heartbeatMs };
    this.lastHeartbeatMs = welcome.heartbeatMs;
    this.maxFrameBytes = welcome.maxFrameBytes;
    this.encodeOptions = {
      limits: { maxFrameBytes: welcome.maxFrameBytes },
      documents: DEFAULT_DOCUMENT_LIMITS,
    };
    return now;
  }

  /** Starts pinging on the session's socket; missed pongs cut it (§4.3). */
  startHeartbeat(socket: SocketLike, intervalMs: number): void {
    this.heartbeat = new Heartbeat(
      this.deps.clock,
      intervalMs,
      (seq, ts) => this.rawSend(socket, { type: "ping", seq, ts }),
      () => this.drop(socket, 1006, "pong_timeout"),
    );
    this.heartbeat.start();
  }

  pong(pdu: PongPdu): void {
    this.heartbeat?.pong(pdu);
    if (this.heartbeat?.offsetMs !== undefined) this.offsetMs = this.heartbeat.offsetMs;
  }

  /** §4.5: the hub's wait hint (from `bye` or `error`), used if the close carries none. */
  retryAfter(ms: number | undefined): void {
    if (ms !== undefined) this.retryAfterMs = ms;
  }

  /** Sends on the current session; false when offline. */
  send(pdu: DevicePdu): boolean {
    if (!this.current || this.connState !== "online") return false;
    return this.rawSend(this.current, pdu);
  }

  /** Sends on `socket` whatever the state (hello, error answers); false when it did not go out. */
  rawSend(socket: SocketLike, pdu: DevicePdu | ErrorPdu): boolean {
    if (socket.readyState !== SOCKET_OPEN) return false;
    let text: string;
    try {
      // The hub refuses documents beyond the limits (§2.2): fail here, loudly, instead.
      text = encode(pdu, this.encodeOptions);
    } catch (error) {
      this.deps.fail(EdgeErrorCode.ENCODE_FAILED, `could not encode a ${pdu.type} PDU`, error);
      return false;
    }
    try {
      socket.send(text);
      return true;
    } catch (error) {
      this.deps.fail(EdgeErrorCode.SOCKET_ERROR, "socket send failed", error);
      return false;
    }
  }

  /**
   * Ends a connection locally without waiting for the close handshake. A dead link (1006:
   * missed pongs, handshake timeout) is cut; otherwise (resync, protocol error) closed politely.
   */
  drop(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.current) return;
    detach(socket);
    if (code === 1006 && socket.terminate) socket.terminate();
    else closeQuietly(socket, code, reason);
    this.onSocketEnd(socket, code, reason);
  }

  /** Stops for good: says `bye` (client_shutdown) when online and closes with 1000. */
  close(message?: string): void {
    const { clock } = this.deps;
    clock.clearTimeout(this.retryTimer);
    clock.clearTimeout(this.handshakeTimer);
    const socket = this.current;
    this.heartbeat?.stop();
    if (socket && this.connState === "online") {
      this.send({
        type: "bye",
        reason: "client_shutdown",
        ...(message ? { message: message.slice(0, 1024) } : {}),
      });
    }
    this.transition("stop");
    this.current = undefined;
    this.session = undefined;
    if (socket) {
      detach(socket);
      closeQuietly(socket, 1000, "client_shutdown");
    }
  }

  private onSocketEnd(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.current) return;
    detach(socket);
    this.current = undefined;
    this.deps.clock.clearTimeout(this.handshakeTimer);
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    const wasOnline = this.connState === "online";
    const onlineMs = wasOnline ? this.deps.clock.now() - this.onlineSince : 0;
    this.session = undefined;
    if (this.connState === "closed") return;
    this.transition("disconnect");
    this.afterDisconnect({ code, reason, onlineMs, wasOnline });
  }

  private afterDisconnect(end: SocketEnd): void {
    const { deps } = this;
    const decision = deps.backoff.next(
      {
        code: end.code,
        reason: end.reason,
        retryAfterMs: this.retryAfterMs,
        onlineMs: end.onlineMs,
        hasSecret: deps.credentials.hasSecret,
      },
      Math.max(deps.backoff.resetAfterMs, this.lastHeartbeatMs ?? 0),
    );
    if (decision.dropToken) {
      deps.credentials.dropToken();
      deps.store.saveQuietly("token");
    }
    const { advice, delayMs, attempt } = decision;
    deps.logger.info({ code: end.code, reason: end.reason, advice, delayMs, attempt }, "offline");
    if (advice === "auth_backoff") deps.events.emit("authFailed", { code: end.code, reason: end.reason });
    deps.events.emit("offline", { ...end, advice, delayMs, attempt });
    if (this.connState !== "backoff") return; // closed by a listener
    this.retryTimer = deps.clock.setTimeout(() => {
      if (this.connState !== "backoff") return;
      this.transition("retry");
      this.open();
    }, delayMs);
  }
}
