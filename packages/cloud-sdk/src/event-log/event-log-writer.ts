import { CloudErrorCode, NotFoundError } from "../errors.js";
import type { DeviceEvent, DeviceEventKind, EventQuery, Page, Store } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import type { Logger } from "../util/logger.js";
import { type CloseOutcome, type Spill, WriteBehind } from "../util/write-behind.js";

/** Appends one entry to a device's event log. */
export type EventLogAppend = (
  deviceId: string,
  kind: DeviceEventKind,
  reason?: string | null,
  data?: Record<string, unknown> | null,
  ts?: number,
) => void;

/** The per-device event log, written behind in batches (never on the hot path), read after a flush. */
export class EventLogWriter {
  readonly writer: WriteBehind<DeviceEvent>;

  constructor(
    private readonly store: Pick<Store, "events" | "devices">,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    logger: Logger,
    spill?: Spill<DeviceEvent>,
  ) {
    this.writer = new WriteBehind<DeviceEvent>({
      name: "event-log",
      write: (batch) => store.events.append(batch),
      clock,
      logger,
      ...(spill ? { spill } : {}),
    });
  }

  append(
    deviceId: string,
    kind: DeviceEventKind,
    reason: string | null = null,
    data: Record<string, unknown> | null = null,
    ts = this.clock.now(),
  ): void {
    this.writer.push({ id: this.ids(), deviceId, ts, kind, reason, data });
  }

  /** A page of the device's log, newest first; pending writes are flushed first so nothing logged is missing. */
  async list(deviceId: string, query: EventQuery = {}): Promise<Page<DeviceEvent>> {
    if (!(await this.store.devices.get(deviceId))) {
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    }
    await this.writer.flush();
    return this.store.events.list(deviceId, query);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Stops; buffered entries get `graceMs` to reach the store (see WriteBehind.close). */
  close(graceMs?: number): Promise<CloseOutcome> {
    return this.writer.close(graceMs);
  }
}
