import type { HelloPdu } from "@cloudedge/protocol";
import type { DeviceRepository } from "../repos/types.js";
import type { Logger } from "../util/logger.js";
import type { Session } from "./session.js";

/**
 * The hub's presence in the device repository, persisted coarsely (docs/architecture.md:
 * the hot path never waits on the database): writes are fire-and-forget, ordered per
 * session where it matters, and awaited at shutdown.
 */
export class PresenceWriter {
  private readonly writes = new Set<Promise<void>>();
  /** Each session's online write, which its offline write must follow. */
  private readonly onlineWrites = new WeakMap<Session, Promise<void>>();

  constructor(
    private readonly devices: DeviceRepository,
    private readonly logger: Logger,
  ) {}

  /** The session is online: records it, and the NICs and software its hello reports. */
  online(session: Session, hello: HelloPdu): void {
    const { deviceId, connectedAt: now } = session;
    this.onlineWrites.set(
      session,
      this.persist(() =>
        this.devices.setPresence(deviceId, { online: true, connectedAt: now, lastSeenAt: now }),
      ),
    );
    if (!hello.hardware && !hello.software) return;
    // (serialNumber, model) is server-owned (issue #21.10): set at registration or by an
    // operator, never by a hello — else a device could take the pair another one will
    // register with. Only the NICs are refreshed.
    const nics = hello.hardware?.nics;
    void this.persist(() =>
      this.devices.update(
        deviceId,
        {
          ...(nics ? { hardware: { nics } } : {}),
          ...(hello.software ? { software: hello.software } : {}),
        },
        now,
      ),
    );
  }

  /**
   * The session ended: records the device offline after this session's own online write,
   * and only while it is the stored session — in a cluster the device may be back on
   * another node before this one noticed the loss.
   */
  offline(session: Session): void {
    const lastSeenAt = session.lastSeen;
    const online = this.onlineWrites.get(session);
    void this.persist(async () => {
      await online;
      await this.devices.setPresence(session.deviceId, {
        online: false,
        lastSeenAt,
        ifConnectedAt: session.connectedAt,
      });
    });
  }

  /** Persists the lastSeen of live sessions (every few minutes, not per heartbeat). */
  touch(sessions: Iterable<Session>): void {
    const entries = [...sessions].map((s) => ({ id: s.deviceId, lastSeenAt: s.lastSeen }));
    if (entries.length > 0) void this.persist(() => this.devices.touchLastSeen(entries));
  }

  /** Resolves once every write under way (and any they start) is done. */
  async drain(): Promise<void> {
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }

  private persist(write: () => Promise<unknown>): Promise<void> {
    const promise: Promise<void> = write()
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn({ err: String(error) }, "presence write failed"))
      .finally(() => this.writes.delete(promise));
    this.writes.add(promise);
    return promise;
  }
}
