import {
  type ConnectionEvent,
  type ConnectionState,
  connectionTransition,
  type DesiredPdu,
  type DevicePdu,
  decode,
  type ErrorPdu,
  encode,
  type HelloPdu,
  type HubPdu,
  isPdu,
  type JsonObject,
  type JsonValue,
  PROTOCOL_VERSIONS,
  type StatusData,
  type StatusPdu,
  type WelcomePdu,
} from "@cloudedge/protocol";
import { EventEmitter } from "eventemitter3";
import { Backoff } from "./backoff.js";
import type { EdgeClientOptions } from "./client-options.js";
import { ClientStore } from "./client-store.js";
import { type Clock, systemClock } from "./clock.js";
import { type Collector, collectStatus } from "./collector.js";
import { CommandRunner } from "./command-runner.js";
import { Credentials } from "./credentials.js";
import { DedupeTable } from "./dedupe-table.js";
import { EdgeError, EdgeErrorCode } from "./errors.js";
import type { EdgeClientEvents } from "./events.js";
import {
  defineExecutor,
  type ExecutionContext,
  type Executor,
  ExecutorRegistry,
  type ExecutorResult,
} from "./executor.js";
import { Heartbeat } from "./heartbeat.js";
import { type Logger, silentLogger } from "./logger.js";
import { Outbox, type OutboxPdu } from "./outbox.js";
import { type DesiredChange, DesiredState, ReportedState } from "./state-sync.js";
import { MemoryStorage } from "./storage.js";
import {
  closeQuietly,
  defaultSocketFactory,
  detach,
  SOCKET_OPEN,
  type SocketFactory,
  type SocketLike,
} from "./transport.js";

type DesiredHandler = (change: DesiredChange) => void | Promise<void>;

/**
 * The device side of protocol v1 in one object: connects and stays connected (handshake
 * with token resume, heartbeat, backoff), runs commands once each, syncs desired/reported
 * state, and keeps status reports and results in an outbox while offline. Browser-safe.
 */
export class EdgeClient extends EventEmitter<EdgeClientEvents> {
  readonly bootId: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly createSocket: SocketFactory;
  private readonly store: ClientStore;
  private readonly backoff: Backoff;
  private readonly credentials: Credentials;
  private readonly registry = new ExecutorRegistry();
  private readonly table: DedupeTable;
  private readonly runner: CommandRunner;
  private readonly outbox: Outbox;
  private readonly desiredState = new DesiredState();
  private readonly reportedState = new ReportedState();
  private readonly desiredHandlers = new Set<DesiredHandler>();
  private readonly collectors: Collector[];
  private readonly tasks = new Set<Promise<unknown>>();
  private connState: ConnectionState = "idle";
  private knownDeviceId: string | undefined;
  private socket: SocketLike | undefined;
  private heartbeat: Heartbeat | undefined;
  private handshakeTimer: unknown;
  private retryTimer: unknown;
  private statusTimer: unknown;
  private statusIntervalMs: number;
  private onlineSince = 0;
  private helloViaToken = false;
  private session: { id: string; heartbeatMs: number } | undefined;
  private retryAfterMs: number | undefined;
  private offsetMs = 0;
  private desiredChain: Promise<void> = Promise.resolve();
  private started: Promise<void> | undefined;

  constructor(private readonly options: EdgeClientOptions) {
    super();
    if (!options.deviceId && !(options.serialNumber && options.model)) {
      throw new TypeError("EdgeClient needs deviceId, or both serialNumber and model");
    }
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.createSocket = options.createSocket ?? defaultSocketFactory();
    const random = options.random ?? Math.random;
    this.backoff = new Backoff({ ...options.backoff, random });
    this.credentials = new Credentials(options.secret);
    this.bootId = options.bootId ?? randomId(random);
    this.knownDeviceId = options.deviceId;
    this.table = new DedupeTable(options.dedupe);
    this.outbox = new Outbox(options.outboxMax);
    this.store = new ClientStore(
      options.storage ?? new MemoryStorage(),
      {
        token: this.credentials,
        desired: this.desiredState,
        reported: this.reportedState,
        dedupe: this.table,
        outbox: this.outbox,
      },
      (error) => this.storageFailed(error),
    );
    this.collectors = [...(options.collectors ?? [])];
    this.statusIntervalMs = options.statusIntervalMs ?? 0;
    for (const executor of options.executors ?? []) this.registry.register(executor);
    this.runner = new CommandRunner({
      clock: this.clock,
      registry: this.registry,
      table: this.table,
      persist: () => this.store.save("dedupe"),
      send: (pdu) => this.send(pdu),
      deliverResult: (pdu) => this.sendOrQueue(pdu),
      hubNow: () => this.hubNow(),
      maxFrameBytes: () => this.maxFrameBytes,
      onReceived: (info) => this.emit("commandReceived", info),
      onFinished: (outcome) => this.emit("commandFinished", outcome),
      onError: (error) =>
        this.fail(EdgeErrorCode.STORAGE_FAILED, "could not persist the dedupe table", error),
    });
  }

  // ---- public API -------------------------------------------------------------------------

  /** Current connection state (docs/protocol.md §4.8). */
  get state(): ConnectionState {
    return this.connState;
  }

  /** True while a session is up (after `welcome`). */
  get online(): boolean {
    return this.connState === "online" && this.socket?.readyState === SOCKET_OPEN;
  }

  /** The device id (configured, or learnt from `welcome` when identified by serial number). */
  get deviceId(): string | undefined {
    return this.knownDeviceId;
  }

  get sessionId(): string | undefined {
    return this.session?.id;
  }

  /** The desired document and the version last applied. */
  get desired(): { version: number; document: JsonObject } {
    return { version: this.desiredState.version, document: this.desiredState.document };
  }

  /** The reported document and its version. */
  get reported(): { version: number; document: JsonObject } {
    return { version: this.reportedState.version, document: this.reportedState.document };
  }

  /** Entries waiting in the outbox, and how many were dropped so far. */
  get outboxStats(): { size: number; dropped: number } {
    return { size: this.outbox.size, dropped: this.outbox.dropped };
  }

  /** Consecutive failed connection attempts. */
  get attempt(): number {
    return this.backoff.attempt;
  }

  /** Estimated hub time (device time + offset measured by the heartbeat). */
  hubNow(): number {
    return this.clock.now() + this.offsetMs;
  }

  /** Loads the persisted state and starts connecting; resolves once loaded. */
  start(): Promise<void> {
    this.started ??= this.load().then(() => {
      if (this.connState !== "idle") return;
      this.transition("connect");
      this.scheduleStatus();
      this.openSocket();
    });
    return this.started;
  }

  /** Adds (or replaces) the executor of a method. */
  register(executor: Executor): this {
    this.registry.register(executor);
    return this;
  }

  /** Shorthand for `register(defineExecutor(method, fn))`. */
  handle(
    method: string,
    fn: (
      params: JsonValue | undefined,
      context: ExecutionContext,
    ) => Promise<ExecutorResult> | ExecutorResult,
  ): this {
    return this.register(defineExecutor(method, fn));
  }

  /** Adds a status collector. */
  addCollector(collector: Collector): this {
    this.collectors.push(collector);
    return this;
  }

  /**
   * Receives desired-state changes in version order (after the client applied and persisted
   * them). Returns a function that unsubscribes.
   */
  onDesired(handler: DesiredHandler): () => void {
    this.desiredHandlers.add(handler);
    return () => this.desiredHandlers.delete(handler);
  }

  /**
   * Merges `patch` (RFC 7396) into the reported state; sends only what changed, with the
   * next version. Offline changes are resynced after the next `welcome`.
   */
  async reportState(patch: JsonObject): Promise<void> {
    const pdu = this.reportedState.change(patch, this.clock.now());
    if (!pdu) return;
    const saved = this.saveReported();
    if (this.online) this.send(pdu);
    await saved;
  }

  /**
   * Sends a status snapshot, or keeps it in the outbox while offline (with this `ts`).
   * Resolves true when it went out at once. Throws EdgeError `invalid_status` for data the
   * schema rejects.
   */
  async sendStatus(data: StatusData, ts = this.clock.now()): Promise<boolean> {
    const pdu: StatusPdu = { type: "status", ts, data };
    if (!isPdu("status", pdu))
      throw new EdgeError(EdgeErrorCode.INVALID_STATUS, "status data breaks the status schema");
    try {
      encode(pdu);
    } catch (error) {
      throw new EdgeError(EdgeErrorCode.INVALID_STATUS, "status data cannot be encoded", { cause: error });
    }
    return this.sendOrQueue(pdu);
  }

  /** Collects from every collector (partial on failures) and sends the report. */
  async reportStatus(): Promise<boolean> {
    const ts = this.clock.now();
    const options =
      this.options.collectTimeoutMs !== undefined ? { timeoutMs: this.options.collectTimeoutMs } : {};
    const data = await collectStatus(this.collectors, { clock: this.clock, ...options });
    return this.sendStatus(data, ts);
  }

  /** Changes the automatic status interval (0 turns it off). */
  setStatusInterval(ms: number): void {
    this.statusIntervalMs = ms;
    this.clock.clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    if (this.connState !== "idle" && this.connState !== "closed") this.scheduleStatus();
  }

  /**
   * Stops for good: says `bye` (client_shutdown) and closes with 1000, cancels running
   * commands (their results stay in the outbox), and waits for pending writes.
   */
  async close(message?: string): Promise<void> {
    if (this.connState === "closed") return;
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearTimeout(this.statusTimer);
    this.clock.clearTimeout(this.handshakeTimer);
    const socket = this.socket;
    this.heartbeat?.stop();
    if (socket && this.connState === "online") {
      this.send({
        type: "bye",
        reason: "client_shutdown",
        ...(message ? { message: message.slice(0, 1024) } : {}),
      });
    }
    this.transition("stop");
    this.socket = undefined;
    this.session = undefined;
    if (socket) {
      detach(socket);
      closeQuietly(socket, 1000, "client_shutdown");
    }
    this.runner.abortAll();
    await Promise.allSettled([...this.tasks]);
    await this.desiredChain;
    await this.store.idle();
  }

  // ---- connection lifecycle --------------------------------------------------------------

  private async load(): Promise<void> {
    try {
      const { deviceId, interrupted } = await this.store.load(this.clock.now());
      if (!this.knownDeviceId && deviceId) this.knownDeviceId = deviceId;
      if (interrupted.length > 0) {
        this.logger.warn(
          { commands: interrupted },
          "commands interrupted by a restart answer executor_error",
        );
      }
    } catch (error) {
      this.fail(EdgeErrorCode.STORAGE_FAILED, "could not load persisted state; starting empty", error);
    }
  }

  private transition(event: ConnectionEvent): void {
    const previous = this.connState;
    this.connState = connectionTransition(previous, event);
    if (this.connState !== previous) this.emit("state", this.connState, previous);
  }

  private openSocket(): void {
    const credentials = this.credentials.forHello(this.hubNow());
    if (!credentials) {
      this.fail(EdgeErrorCode.NO_CREDENTIALS, "no secret and no resume token configured");
      this.transition("disconnect");
      this.afterDisconnect({ code: 4001, reason: "no_credentials", onlineMs: 0, wasOnline: false });
      return;
    }
    this.retryAfterMs = undefined;
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.options.url);
    } catch (error) {
      this.fail(EdgeErrorCode.SOCKET_ERROR, "could not open a WebSocket", error);
      this.transition("disconnect");
      this.afterDisconnect({ code: 1006, reason: "socket_error", onlineMs: 0, wasOnline: false });
      return;
    }
    this.socket = socket;
    const timeoutMs = this.options.handshakeTimeoutMs ?? 20_000;
    this.handshakeTimer = this.clock.setTimeout(
      () => this.drop(socket, 1006, "handshake_timeout"),
      timeoutMs,
    );
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.transition("open");
      this.sendHello(socket);
    };
    socket.onmessage = (event) => {
      if (socket === this.socket) this.onMessage(socket, event.data);
    };
    socket.onerror = () => {
      if (socket === this.socket) this.logger.debug({}, "websocket error");
    };
    socket.onclose = (event) => this.onSocketEnd(socket, event.code, event.reason ?? "");
  }

  private sendHello(socket: SocketLike): void {
    const credentials = this.credentials.forHello(this.hubNow());
    this.helloViaToken = credentials !== undefined && "token" in credentials;
    const identity = this.knownDeviceId
      ? { deviceId: this.knownDeviceId }
      : { serialNumber: this.options.serialNumber as string, model: this.options.model as string };
    const hello: HelloPdu = {
      type: "hello",
      versions: [...PROTOCOL_VERSIONS],
      ...identity,
      ...credentials,
      agent: this.options.agent ?? { name: "cloudedge-edge-sdk", version: "0.1.0" },
      bootId: this.bootId,
      desiredVersion: this.desiredState.version,
      ...(this.options.hardware ? { hardware: this.options.hardware } : {}),
      ...(this.options.software ? { software: this.options.software } : {}),
    };
    this.logger.debug({ viaToken: this.helloViaToken, desiredVersion: hello.desiredVersion }, "hello");
    this.rawSend(socket, hello);
  }

  /**
   * Ends a connection locally without waiting for the close handshake. A dead link (1006:
   * missed pongs, handshake timeout) is cut; otherwise (resync, protocol error) closed politely.
   */
  private drop(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    detach(socket);
    if (code === 1006 && socket.terminate) socket.terminate();
    else closeQuietly(socket, code, reason);
    this.onSocketEnd(socket, code, reason);
  }

  private onSocketEnd(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    detach(socket);
    this.socket = undefined;
    this.clock.clearTimeout(this.handshakeTimer);
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    const wasOnline = this.connState === "online";
    const onlineMs = wasOnline ? this.clock.now() - this.onlineSince : 0;
    this.session = undefined;
    if (this.connState === "closed") return;
    this.transition("disconnect");
    this.afterDisconnect({ code, reason, onlineMs, wasOnline });
  }

  private afterDisconnect(end: { code: number; reason: string; onlineMs: number; wasOnline: boolean }): void {
    const heartbeatMs = this.lastHeartbeatMs ?? 0;
    const decision = this.backoff.next(
      {
        code: end.code,
        reason: end.reason,
        retryAfterMs: this.retryAfterMs,
        onlineMs: end.onlineMs,
        hasSecret: this.credentials.hasSecret,
      },
      Math.max(this.backoff.resetAfterMs, heartbeatMs),
    );
    if (decision.dropToken) {
      this.credentials.dropToken();
      this.store.saveQuietly("token");
    }
    this.logger.info(
      {
        code: end.code,
        reason: end.reason,
        advice: decision.advice,
        delayMs: decision.delayMs,
        attempt: decision.attempt,
      },
      "offline",
    );
    if (decision.advice === "auth_backoff") this.emit("authFailed", { code: end.code, reason: end.reason });
    this.emit("offline", {
      ...end,
      advice: decision.advice,
      delayMs: decision.delayMs,
      attempt: decision.attempt,
    });
    if (this.connState !== "backoff") return; // closed by a listener
    this.retryTimer = this.clock.setTimeout(() => {
      if (this.connState !== "backoff") return;
      this.transition("retry");
      this.openSocket();
    }, decision.delayMs);
  }

  private lastHeartbeatMs: number | undefined;
  private maxFrameBytes = 262_144;

  // ---- receiving ---------------------------------------------------------------------------

  private onMessage(socket: SocketLike, data: unknown): void {
    const input =
      typeof data === "string" || data instanceof ArrayBuffer || data instanceof Uint8Array
        ? data
        : String(data);
    const decoded = decode(input, { from: "hub" });
    if (!decoded.ok) {
      const { error } = decoded;
      this.logger.warn({ code: error.code }, "rejected a PDU from the hub");
      // §2.3: answer with `error` (never an error with an error), and close when unsafe.
      if (error.pduType !== "error") this.rawSend(socket, error.toPdu() as ErrorPdu);
      if (error.closeCode !== undefined) this.drop(socket, error.closeCode, error.code);
      return;
    }
    const pdu = decoded.pdu as HubPdu;
    switch (pdu.type) {
      case "welcome":
        if (this.connState === "authenticating") this.onWelcome(socket, pdu);
        else
          this.rawSend(socket, {
            type: "error",
            code: "unexpected_pdu",
            message: "welcome outside the handshake",
          });
        return;
      case "pong":
        this.heartbeat?.pong(pdu);
        if (this.heartbeat?.offsetMs !== undefined) this.offsetMs = this.heartbeat.offsetMs;
        return;
      case "cmd":
        if (this.connState === "online") this.track(this.runner.handle(pdu));
        return;
      case "desired":
        if (this.connState === "online") this.onDesiredPdu(socket, pdu);
        return;
      case "error":
        this.onErrorPdu(socket, pdu);
        return;
      case "bye":
        // §4.5: the close (with retry-after) follows; remember the hint in case it does not.
        if (pdu.retryAfterMs !== undefined) this.retryAfterMs = pdu.retryAfterMs;
        this.logger.info({ reason: pdu.reason, retryAfterMs: pdu.retryAfterMs }, "bye from hub");
        return;
    }
  }

  private onWelcome(socket: SocketLike, welcome: WelcomePdu): void {
    this.clock.clearTimeout(this.handshakeTimer);
    this.transition("welcome");
    const now = this.clock.now();
    this.onlineSince = now;
    this.offsetMs = welcome.serverTime - now; // refined by the first pong
    this.session = { id: welcome.sessionId, heartbeatMs: welcome.heartbeatMs };
    this.lastHeartbeatMs = welcome.heartbeatMs;
    this.maxFrameBytes = welcome.maxFrameBytes;
    this.credentials.accept(welcome);
    this.store.saveQuietly("token");
    if (this.knownDeviceId !== welcome.deviceId) {
      this.knownDeviceId = welcome.deviceId;
      this.store.saveDeviceId(welcome.deviceId);
    }
    // §6.3: welcome.desired is authoritative, even when it goes back in version.
    const change = this.desiredState.applyWelcome(welcome.desired);
    if (change) this.queueDesired(change);
    // §6.3: resync the reported document when the hub's version differs from ours.
    const full = this.reportedState.resync(welcome.reportedVersion, now);
    if (full) {
      void this.saveReported();
      this.rawSend(socket, full);
    }
    this.flushOutbox(socket);
    this.heartbeat = new Heartbeat(
      this.clock,
      welcome.heartbeatMs,
      (seq, ts) => this.rawSend(socket, { type: "ping", seq, ts }),
      () => this.drop(socket, 1006, "pong_timeout"),
    );
    this.heartbeat.start();
    this.logger.info({ sessionId: welcome.sessionId, viaToken: this.helloViaToken }, "online");
    this.emit("online", {
      sessionId: welcome.sessionId,
      deviceId: welcome.deviceId,
      heartbeatMs: welcome.heartbeatMs,
      viaToken: this.helloViaToken,
    });
  }

  private onDesiredPdu(socket: SocketLike, pdu: DesiredPdu): void {
    const outcome = this.desiredState.apply(pdu);
    if (outcome.kind === "applied") this.queueDesired(outcome.change);
    else if (outcome.kind === "gap") {
      // §6.3: a missed change is never patched over; reconnect and let the handshake resync.
      this.logger.warn(
        { version: pdu.version, applied: this.desiredState.version },
        "desired version gap: resync",
      );
      this.drop(socket, 1000, "resync");
    }
  }

  private onErrorPdu(socket: SocketLike, pdu: ErrorPdu): void {
    if (pdu.retryAfterMs !== undefined) this.retryAfterMs = pdu.retryAfterMs;
    this.logger.warn({ code: pdu.code, ref: pdu.ref }, "error from hub");
    this.emit("peerError", pdu);
    if (this.connState !== "online") return;
    if (pdu.code === "version_gap") {
      // §6.3: the hub missed a reported change; send the whole document.
      const full = this.reportedState.full(this.reportedState.version, this.clock.now());
      void this.saveReported();
      this.rawSend(socket, full);
    } else if (pdu.code === "stale_version") {
      // The hub is ahead of us: reconnect to learn its version from welcome.
      this.drop(socket, 1000, "resync");
    } else if (pdu.code === "try_later") {
      this.drop(socket, 1000, "try_later");
    }
  }

  private queueDesired(change: DesiredChange): void {
    const saved = this.store.save("desired");
    this.desiredChain = this.desiredChain.then(async () => {
      await saved.catch((e) => this.storageFailed(e));
      for (const handler of this.desiredHandlers) {
        try {
          await handler(change);
        } catch (error) {
          this.fail(EdgeErrorCode.DESIRED_HANDLER_FAILED, "a desired-state handler failed", error);
        }
      }
      this.emit("desired", change);
    });
  }

  // ---- sending -----------------------------------------------------------------------------

  /** Sends on the current session; false when offline. */
  private send(pdu: DevicePdu): boolean {
    if (!this.socket || this.connState !== "online") return false;
    return this.rawSend(this.socket, pdu);
  }

  private rawSend(socket: SocketLike, pdu: DevicePdu | ErrorPdu): boolean {
    if (socket.readyState !== SOCKET_OPEN) return false;
    let text: string;
    try {
      // §2.1: never send more than the hub accepts (welcome.maxFrameBytes; 256 KiB before it).
      text = encode(pdu, { limits: { maxFrameBytes: this.maxFrameBytes } });
    } catch (error) {
      this.fail(EdgeErrorCode.ENCODE_FAILED, `could not encode a ${pdu.type} PDU`, error);
      return false;
    }
    try {
      socket.send(text);
      return true;
    } catch (error) {
      this.fail(EdgeErrorCode.SOCKET_ERROR, "socket send failed", error);
      return false;
    }
  }

  private sendOrQueue(pdu: OutboxPdu): boolean {
    // Keep order: while older entries wait, newer ones queue behind them.
    if (this.outbox.size === 0 && this.send(pdu)) return true;
    const dropped = this.outbox.push(pdu);
    if (dropped > 0) this.emit("outboxDropped", { dropped, totalDropped: this.outbox.dropped });
    this.store.saveQuietly("outbox");
    if (this.online) this.flushOutbox(this.socket as SocketLike);
    return false;
  }

  /** §6.4: after welcome, the outbox goes out oldest first with the original timestamps. */
  private flushOutbox(socket: SocketLike): void {
    if (this.outbox.size === 0) return;
    let sent = 0;
    for (let pdu = this.outbox.peek(); pdu; pdu = this.outbox.peek()) {
      if (socket.readyState !== SOCKET_OPEN) break;
      if (!this.rawSend(socket, pdu) && socket.readyState === SOCKET_OPEN) {
        this.logger.warn({ type: pdu.type }, "dropping an outbox entry that cannot be encoded");
      }
      this.outbox.shift();
      sent += 1;
    }
    this.logger.info({ sent, left: this.outbox.size }, "outbox flushed");
    this.store.saveQuietly("outbox");
  }

  private saveReported(): Promise<void> {
    return this.store.save("reported").catch((e) => this.storageFailed(e));
  }

  // ---- helpers -----------------------------------------------------------------------------

  private scheduleStatus(): void {
    if (!(this.statusIntervalMs > 0) || this.statusTimer !== undefined) return;
    this.statusTimer = this.clock.setTimeout(() => {
      this.statusTimer = undefined;
      if (this.connState === "closed") return;
      this.track(
        this.reportStatus().catch((error) =>
          this.fail(EdgeErrorCode.INVALID_STATUS, "status report failed", error),
        ),
      );
      this.scheduleStatus();
    }, this.statusIntervalMs);
  }

  private track(task: Promise<unknown>): void {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private storageFailed(error: unknown): void {
    this.fail(EdgeErrorCode.STORAGE_FAILED, "storage write failed", error);
  }

  private fail(code: EdgeErrorCode, message: string, cause?: unknown): void {
    const error = new EdgeError(code, message, cause === undefined ? undefined : { cause });
    this.logger.error({ code, err: cause instanceof Error ? cause.message : undefined }, message);
    this.emit("error", error);
  }
}

function randomId(random: () => number): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
}
