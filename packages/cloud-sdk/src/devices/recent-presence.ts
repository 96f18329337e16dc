import type { CloudEvent } from "../events.js";

/** The latest presence of a device as the bus reported it: which session, online or not. */
interface Seen {
  sessionId: string;
  online: boolean;
}

/**
 * Presence as the cluster's presence events say, for the devices they were about lately.
 * Every node receives every node's presence events, so this sees a device come online or go
 * offline on any node as soon as it happens, while the persisted flag follows a moment later
 * (or, for a lost write, not at all). Bounded: the oldest entries go first, and a device
 * without an entry is what its persisted flag says.
 */
export class RecentPresence {
  private readonly seen = new Map<string, Seen>();

  /** `capacity` bounds the memory (~150 B an entry): only the window while writes lag needs covering. */
  constructor(private readonly capacity = 10_000) {}

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
    this.seen.set(event.deviceId, { sessionId: event.sessionId, online: event.online });
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value as string);
  }

  /** Whether the device is online: the latest event about it, else the persisted flag. */
  online(deviceId: string, persisted: boolean): boolean {
    return this.seen.get(deviceId)?.online ?? persisted;
  }
}
