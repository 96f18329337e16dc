import type { CloudEvent } from "../events.js";
import type { Clock } from "../util/clock.js";

/** The latest presence of a device as the bus reported it: which session, online or not, when. */
interface Seen {
  sessionId: string;
  online: boolean;
  seenAt: number;
}

/**
 * Presence as the cluster's presence events said lately. Every node receives every node's
 * presence events, so this sees a device come online or go offline on any node as soon as
 * it happens, while the persisted flag follows a moment later. Only that moment needs
 * covering: an entry counts for `maxAgeMs` (so a missed event misleads for no longer),
 * and at most `capacity` entries are kept (~150 B each), the oldest dropped first.
 */
export class RecentPresence {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly clock: Clock,
    private readonly capacity = 4_096,
    private readonly maxAgeMs = 30_000,
  ) {}

  /** Feeds one cluster event (presence and deletion are acted on, the rest ignored). */
  observe(event: CloudEvent): void {
    if (event.type === "device_deleted") {
      this.seen.delete(event.deviceId);
      return;
    }
    if (event.type !== "presence") return;
    const last = this.seen.get(event.deviceId);
    // A replaced session may report its end after its successor came online (on another node).
    if (!event.online && last?.online && last.sessionId !== event.sessionId) return;
    this.seen.delete(event.deviceId); // re-inserted: Map order is then recency order
    this.seen.set(event.deviceId, {
      sessionId: event.sessionId,
      online: event.online,
      seenAt: this.clock.now(),
    });
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value as string);
  }

  /** Whether the device is online: what a recent event said, else the persisted flag. */
  online(deviceId: string, persisted: boolean): boolean {
    const last = this.seen.get(deviceId);
    if (!last) return persisted;
    if (this.clock.now() - last.seenAt < this.maxAgeMs) return last.online;
    this.seen.delete(deviceId);
    return persisted;
  }
}
