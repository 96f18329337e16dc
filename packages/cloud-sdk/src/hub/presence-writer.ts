import type { HelloPdu } from "@cloudedge/protocol";
import type { DeviceRepository } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { type CloseOutcome, type Spill, WriteBehind, within } from "../util/write-behind.js";
import { applyPresenceOp, type PresenceOp } from "./presence-ops.js";
import type { Session } from "./session.js";

/**
 * The hub's presence in the device repository, persisted coarsely (docs/architecture.md:
 * the hot path never waits on the database). While the store is healthy each write goes
 * straight out, fire-and-forget; one the store refuses goes to a backlog that is retried in
 * order (and journaled), and later writes queue behind it so their order holds.
 */
export class PresenceWriter {
  private readonly writes = new Map<Promise<boolean>, PresenceOp>();
  /** Each session's online write (true once stored), which its offline write must follow. */
  private readonly onlineWrites = new WeakMap<Session, Promise<boolean>>();
  private readonly backlog: WriteBehind<PresenceOp>;
  /** Offline writes waiting for their session's online write. */
  private readonly chains = new Map<Promise<void>, PresenceOp>();
  /** Set once close() took every unfinished write into the backlog: late outcomes change nothing. */
  private tookOver = false;

  constructor(
    private readonly devices: DeviceRepository,
    private readonly logger: Logger,
    clock: Clock,
    spill?: Spill<PresenceOp>,
  ) {
    this.backlog = new WriteBehind<PresenceOp>({
      name: "presence",
      write: async (ops) => {
        // In order, one at a time; a retry re-applies the batch from its start, harmlessly (upserts).
        for (const op of ops) await applyPresenceOp(devices, op);
      },
      clock,
      logger,
      ...(spill ? { spill } : {}),
    });
  }

  /** The session is online: records it, and the NICs and software its hello reports. */
  online(session: Session, hello: HelloPdu): void {
    const { deviceId, connectedAt: now } = session;
    this.onlineWrites.set(
      session,
      this.submit({
        op: "presence",
        deviceId,
        write: { online: true, connectedAt: now, lastSeenAt: now },
      }),
    );
    if (!hello.hardware && !hello.software) return;
    // (serialNumber, model) is server-owned (issue #21.10): set at registration or by an
    // operator, never by a hello — else a device could take the pair another one will
    // register with. Only the NICs are refreshed.
    const nics = hello.hardware?.nics;
    void this.submit({
      op: "update",
      deviceId,
      patch: {
        ...(nics ? { hardware: { nics } } : {}),
        ...(hello.software ? { software: hello.software } : {}),
      },
      now,
    });
  }

  /**
   * The session ended: records the device offline after this session's own online write,
   * and only while it is the stored session — in a cluster the device may be back on
   * another node before this one noticed the loss.
   */
  offline(session: Session): void {
    const op: PresenceOp = {
      op: "presence",
      deviceId: session.deviceId,
      write: { online: false, lastSeenAt: session.lastSeen, ifConnectedAt: session.connectedAt },
    };
    const online = this.onlineWrites.get(session);
    if (!online) return void this.submit(op);
    // An online write the store refused is in the backlog: the offline one goes behind it.
    const chained: Promise<void> = online
      .then((stored) => {
        if (this.tookOver) return;
        if (stored) void this.submit(op);
        else this.backlog.push(op);
      })
      .finally(() => this.chains.delete(chained));
    this.chains.set(chained, op);
  }

  /** Persists the lastSeen of live sessions (every few minutes, not per heartbeat). */
  touch(sessions: Iterable<Session>): void {
    const entries = [...sessions].map((s) => ({ id: s.deviceId, lastSeenAt: s.lastSeen }));
    if (entries.length > 0) void this.submit({ op: "touch", entries });
  }

  /** Resolves once every write under way (and any they start) is done. */
  async drain(): Promise<void> {
    while (this.writes.size + this.chains.size > 0)
      await Promise.all([...this.writes.keys(), ...this.chains.keys()]);
  }

  /**
   * Shutdown: waits up to `graceMs` for direct writes, retries the backlog in what is left,
   * and journals whatever is still unwritten, direct writes still hanging included (replaying
   * one that landed after all changes nothing).
   */
  async close(graceMs?: number): Promise<CloseOutcome> {
    const until = Date.now() + (graceMs ?? 0);
    await (graceMs === undefined ? this.drain() : within(this.drain(), graceMs));
    this.tookOver = true;
    for (const op of [...this.writes.values(), ...this.chains.values()]) this.backlog.push(op);
    return this.backlog.close(graceMs === undefined ? undefined : Math.max(0, until - Date.now()));
  }

  /** Straight to the store while the backlog is empty; behind it otherwise. Resolves true once stored. */
  private submit(op: PresenceOp): Promise<boolean> {
    if (this.backlog.size > 0) {
      this.backlog.push(op);
      return Promise.resolve(false);
    }
    const promise: Promise<boolean> = applyPresenceOp(this.devices, op)
      .then(() => true)
      .catch((error: unknown) => {
        this.logger.warn({ err: String(error) }, "presence write failed; kept for retry");
        // Unless close() already took it over (it was hanging at the end of the grace period).
        if (!this.tookOver) this.backlog.push(op);
        return false;
      })
      .finally(() => this.writes.delete(promise));
    this.writes.set(promise, op);
    return promise;
  }
}
