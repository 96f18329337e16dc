import type { AuthFailure } from "../hub/handshake.js";
import type { Clock } from "../util/clock.js";
import type { EventLogAppend } from "./event-log-writer.js";

interface Window {
  since: number;
  count: number;
  last?: AuthFailure;
  reasons: Record<string, number>;
  addresses: Set<string>;
}

/** Addresses named in one merged row, at most. */
const MAX_ADDRESSES = 10;

/**
 * Failed logins into the device event log, merged (issue #21.8): at most one `auth_failed`
 * row per device per window. The first failure is written at once (`count: 1`); the ones
 * that follow within the window are counted and written as one row when it ends
 * (`count`, `reasons`, `remoteAddresses`), which opens the next window. A thousand bogus
 * hellos make a handful of rows, not a thousand.
 */
export class AuthFailureLog {
  private readonly windows = new Map<string, Window>();
  private readonly timer: unknown;

  constructor(
    private readonly append: EventLogAppend,
    private readonly clock: Clock,
    readonly windowMs = 60_000,
  ) {
    this.timer = clock.setInterval(() => this.sweep(), Math.max(50, windowMs / 4));
  }

  /**
   * Records a failure. One refused without a lookup (`claimedDeviceId`) is counted only into
   * a window already open for that id — proof the device exists — never opens one.
   */
  record(failure: AuthFailure): void {
    const claimed = failure.claimedDeviceId;
    const deviceId =
      failure.deviceId ?? (claimed !== undefined && this.windows.has(claimed) ? claimed : undefined);
    if (deviceId === undefined) return; // no device to log against: counted in metrics only
    const open = this.windows.get(deviceId);
    if (!open) {
      this.append(
        deviceId,
        "auth_failed",
        failure.reason,
        { remoteAddress: failure.remoteAddress, count: 1 },
        failure.at,
      );
      this.windows.set(deviceId, { since: failure.at, count: 0, reasons: {}, addresses: new Set() });
      return;
    }
    open.count++;
    open.last = failure;
    open.reasons[failure.reason] = (open.reasons[failure.reason] ?? 0) + 1;
    if (open.addresses.size < MAX_ADDRESSES) open.addresses.add(failure.remoteAddress);
  }

  /** Writes the windows that ended; forgets the devices whose window ended quiet. */
  sweep(now = this.clock.now()): void {
    for (const [deviceId, open] of this.windows) {
      if (now - open.since < this.windowMs) continue;
      if (open.count === 0) this.windows.delete(deviceId);
      else {
        this.write(deviceId, open);
        this.windows.set(deviceId, { since: now, count: 0, reasons: {}, addresses: new Set() });
      }
    }
  }

  /** Writes every open window with failures in it and stops the timer (at shutdown). */
  close(): void {
    this.clock.clearInterval(this.timer);
    for (const [deviceId, open] of this.windows) if (open.count > 0) this.write(deviceId, open);
    this.windows.clear();
  }

  private write(deviceId: string, open: Window): void {
    const last = open.last as AuthFailure;
    this.append(
      deviceId,
      "auth_failed",
      last.reason,
      {
        remoteAddress: last.remoteAddress,
        count: open.count,
        reasons: open.reasons,
        remoteAddresses: [...open.addresses],
        since: open.since,
      },
      last.at,
    );
  }
}
