import {
  type ConnectionState,
  decode,
  type ErrorPdu,
  type HubPdu,
  type JsonObject,
  type JsonValue,
  type StatusData,
  type WelcomePdu,
} from "@cloudedge/protocol";
import { EventEmitter } from "eventemitter3";
import { Backoff } from "./backoff.js";
import type { EdgeClientOptions } from "./client-options.js";
import { ClientStore } from "./client-store.js";
import { type Clock, systemClock } from "./clock.js";
import type { Collector } from "./collector.js";
import { CommandRunner } from "./command-runner.js";
import { Credentials } from "./credentials.js";
import { DedupeTable } from "./dedupe-table.js";
import { DesiredDispatch, type DesiredHandler } from "./desired-dispatch.js";
import { EdgeError, EdgeErrorCode } from "./errors.js";
import type { EdgeClientEvents } from "./events.js";
import {
  defineExecutor,
  type ExecutionContext,
  type Executor,
  ExecutorRegistry,
  type ExecutorResult,
} from "./executor.js";
import { Handshake, randomBootId } from "./handshake.js";
import { Link } from "./link.js";
import { type Logger, silentLogger } from "./logger.js";
import { Outbox } from "./outbox.js";
import { OutboxSender } from "./outbox-sender.js";
import { StateChannel } from "./state-channel.js";
import { DesiredState, ReportedState } from "./state-sync.js";
import { StatusReporter } from "./status-reporter.js";
import { MemoryStorage } from "./storage.js";
import { defaultSocketFactory, type SocketLike } from "./transport.js";

/**
 * The device side of protocol v1 in one object: connects and stays connected (handshake
 * with token resume, heartbeat, backoff), runs commands once each, syncs desired/reported
 * state, and keeps status reports and results in an outbox while offline. Browser-safe.
 *
 * A facade: the socket lifecycle is the Link's; this class routes what arrives on it to the
 * piece that handles it (handshake, commands, state channel, outbox, status reports).
 */
export class EdgeClient extends EventEmitter<EdgeClientEvents> {
  readonly bootId: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly store: ClientStore;
  private readonly backoff: Backoff;
  private readonly registry = new ExecutorRegistry();
  private readonly runner: CommandRunner;
  private readonly outbox: Outbox;
  private readonly desiredState = new DesiredState();
  private readonly reportedState = new ReportedState();
  private readonly link: Link;
  private readonly handshake: Handshake;
  private readonly dispatch: DesiredDispatch;
  private readonly stateChannel: StateChannel;
  private readonly sender: OutboxSender;
  private readonly status: StatusReporter;
  private readonly tasks = new Set<Promise<unknown>>();
  private started: Promise<void> | undefined;

  constructor(options: EdgeClientOptions) {
    super();
    if (!options.deviceId && !(options.serialNumber && options.model)) {
      throw new TypeError("EdgeClient needs deviceId, or both serialNumber and model");
    }
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger;
    this.clock = clock;
    this.logger = logger;
    const random = options.random ?? Math.random;
    const fail = this.fail.bind(this);
    const storageFailed = (error: unknown) =>
      this.fail(EdgeErrorCode.STORAGE_FAILED, "storage write failed", error);
    this.backoff = new Backoff({ ...options.backoff, random });
    const credentials = new Credentials(options.secret);
    this.bootId = options.bootId ?? randomBootId(random);
    const table = new DedupeTable(options.dedupe);
    this.outbox = new Outbox(options.outboxMax);
    const store = new ClientStore(
      options.storage ?? new MemoryStorage(),
      {
        token: credentials,
        desired: this.desiredState,
        reported: this.reportedState,
        dedupe: table,
        outbox: this.outbox,
      },
      storageFailed,
    );
    this.store = store;
    const link = new Link({
      url: options.url,
      clock,
      logger,
      createSocket: options.createSocket ?? defaultSocketFactory(),
      backoff: this.backoff,
      credentials,
      store,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 20_000,
      events: this,
      fail,
      onOpen: (socket) =>
        link.rawSend(socket, this.handshake.hello(link.hubNow(), this.desiredState.version)),
      onMessage: (socket, data) => this.onMessage(socket, data),
    });
    this.link = link;
    this.handshake = new Handshake({ options, bootId: this.bootId, credentials, store, logger });
    this.dispatch = new DesiredDispatch({
      store,
      fail,
      storageFailed,
      emit: (change) => this.emit("desired", change),
    });
    this.stateChannel = new StateChannel({
      desired: this.desiredState,
      reported: this.reportedState,
      dispatch: this.dispatch,
      store,
      link,
      clock,
      logger,
      storageFailed,
    });
    const sender = new OutboxSender({
      outbox: this.outbox,
      link,
      store,
      logger,
      onDropped: (info) => this.emit("outboxDropped", info),
    });
    this.sender = sender;
    this.status = new StatusReporter({
      clock,
      collectors: options.collectors ?? [],
      intervalMs: options.statusIntervalMs ?? 0,
      collectTimeoutMs: options.collectTimeoutMs,
      sendOrQueue: (pdu) => sender.sendOrQueue(pdu),
      state: () => link.state,
      track: (task) => this.track(task),
      fail,
    });
    for (const executor of options.executors ?? []) this.registry.register(executor);
    this.runner = new CommandRunner({
      clock,
      registry: this.registry,
      table,
      persist: () => store.save("dedupe"),
      send: (pdu) => link.send(pdu),
      deliverResult: (pdu) => sender.sendOrQueue(pdu),
      hubNow: () => link.hubNow(),
      maxFrameBytes: () => link.maxFrameBytes,
      onReceived: (info) => this.emit("commandReceived", info),
      onFinished: (outcome) => this.emit("commandFinished", outcome),
      onError: (error) =>
        this.fail(EdgeErrorCode.STORAGE_FAILED, "could not persist the dedupe table", error),
    });
  }

  // ---- public API -------------------------------------------------------------------------

  /** Current connection state (docs/protocol.md §4.8). */
  get state(): ConnectionState {
    return this.link.state;
  }

  /** True while a session is up (after `welcome`). */
  get online(): boolean {
    return this.link.online;
  }

  /** The device id (configured, or learnt from `welcome` when identified by serial number). */
  get deviceId(): string | undefined {
    return this.handshake.deviceId;
  }

  get sessionId(): string | undefined {
    return this.link.session?.id;
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
    return this.link.hubNow();
  }

  /** Loads the persisted state and starts connecting; resolves once loaded. */
  start(): Promise<void> {
    this.started ??= this.load().then(() => {
      if (this.link.state !== "idle") return;
      this.link.transition("connect");
      this.status.schedule();
      this.link.open();
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
    this.status.add(collector);
    return this;
  }

  /**
   * Receives desired-state changes in version order (after the client applied and persisted
   * them). Returns a function that unsubscribes.
   */
  onDesired(handler: DesiredHandler): () => void {
    return this.dispatch.subscribe(handler);
  }

  /**
   * Merges `patch` (RFC 7396) into the reported state; sends only what changed, with the
   * next version. Offline changes are resynced after the next `welcome`.
   */
  reportState(patch: JsonObject): Promise<void> {
    return this.stateChannel.report(patch);
  }

  /**
   * Sends a status snapshot, or keeps it in the outbox while offline (with this `ts`).
   * Resolves true when it went out at once. Throws EdgeError `invalid_status` for data the
   * schema rejects.
   */
  sendStatus(data: StatusData, ts = this.clock.now()): Promise<boolean> {
    return this.status.send(data, ts);
  }

  /** Collects from every collector (partial on failures) and sends the report. */
  reportStatus(): Promise<boolean> {
    return this.status.report();
  }

  /** Changes the automatic status interval (0 turns it off). */
  setStatusInterval(ms: number): void {
    this.status.setInterval(ms);
  }

  /**
   * Stops for good: says `bye` (client_shutdown) and closes with 1000, cancels running
   * commands (their results stay in the outbox), and waits for pending writes.
   */
  async close(message?: string): Promise<void> {
    if (this.link.state === "closed") return;
    this.status.stop();
    this.link.close(message);
    this.runner.abortAll();
    await Promise.allSettled([...this.tasks]);
    await this.dispatch.idle();
    await this.store.idle();
  }

  // ---- receiving ---------------------------------------------------------------------------

  private async load(): Promise<void> {
    try {
      const { deviceId, interrupted } = await this.store.load();
      this.handshake.restore(deviceId);
      if (interrupted.length > 0) {
        this.logger.warn(
          { commands: interrupted.map((entry) => entry.id) },
          "commands interrupted by a restart: resuming (their executors report how they ended)",
        );
      }
      for (const entry of interrupted) this.track(this.runner.resume(entry));
    } catch (error) {
      this.fail(EdgeErrorCode.STORAGE_FAILED, "could not load persisted state; starting empty", error);
    }
  }

  private onMessage(socket: SocketLike, data: unknown): void {
    const { link } = this;
    const input =
      typeof data === "string" || data instanceof ArrayBuffer || data instanceof Uint8Array
        ? data
        : String(data);
    const decoded = decode(input, { from: "hub" });
    if (!decoded.ok) {
      const { error } = decoded;
      this.logger.warn({ code: error.code }, "rejected a PDU from the hub");
      // §2.3: answer with `error` (never an error with an error), and close when unsafe.
      if (error.pduType !== "error") link.rawSend(socket, error.toPdu() as ErrorPdu);
      if (error.closeCode !== undefined) link.drop(socket, error.closeCode, error.code);
      return;
    }
    const pdu = decoded.pdu as HubPdu;
    switch (pdu.type) {
      case "welcome":
        if (link.state === "authenticating") this.onWelcome(socket, pdu);
        else
          link.rawSend(socket, {
            type: "error",
            code: "unexpected_pdu",
            message: "welcome outside the handshake",
          });
        return;
      case "pong":
        link.pong(pdu);
        return;
      case "cmd":
        if (link.state === "online") this.track(this.runner.handle(pdu));
        return;
      case "desired":
        if (link.state === "online") this.stateChannel.desired(socket, pdu);
        return;
      case "error":
        this.onErrorPdu(socket, pdu);
        return;
      case "bye":
        // §4.5: the close (with retry-after) follows; remember the hint in case it does not.
        link.retryAfter(pdu.retryAfterMs);
        this.logger.info({ reason: pdu.reason, retryAfterMs: pdu.retryAfterMs }, "bye from hub");
        return;
    }
  }

  private onWelcome(socket: SocketLike, welcome: WelcomePdu): void {
    const now = this.link.welcome(welcome);
    this.handshake.accept(welcome);
    this.stateChannel.welcome(socket, welcome, now);
    this.sender.flush(socket);
    this.link.startHeartbeat(socket, welcome.heartbeatMs);
    const viaToken = this.handshake.viaToken;
    this.logger.info({ sessionId: welcome.sessionId, viaToken }, "online");
    this.emit("online", {
      sessionId: welcome.sessionId,
      deviceId: welcome.deviceId,
      heartbeatMs: welcome.heartbeatMs,
      viaToken,
    });
  }

  private onErrorPdu(socket: SocketLike, pdu: ErrorPdu): void {
    this.link.retryAfter(pdu.retryAfterMs);
    this.logger.warn({ code: pdu.code, ref: pdu.ref }, "error from hub");
    this.emit("peerError", pdu);
    if (this.link.state !== "online") return;
    if (pdu.code === "version_gap") this.stateChannel.resendReported(socket);
    // stale_version: the hub is ahead of us; reconnect to learn its version from welcome.
    else if (pdu.code === "stale_version") this.link.drop(socket, 1000, "resync");
    else if (pdu.code === "try_later") this.link.drop(socket, 1000, "try_later");
  }

  // ---- helpers -----------------------------------------------------------------------------

  private track(task: Promise<unknown>): void {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private fail(code: EdgeErrorCode, message: string, cause?: unknown): void {
    const error = new EdgeError(code, message, cause === undefined ? undefined : { cause });
    this.logger.error({ code, err: cause instanceof Error ? cause.message : undefined }, message);
    this.emit("error", error);
  }
}
