import type { DeviceEvent, DeviceEventKind, EventLogRepository } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import type { Logger } from "../util/logger.js";
import { WriteBehind } from "../util/write-behind.js";

/** Appends one entry to a device's event log. */
export type EventLogAppend = (
  deviceId: string,
  kind: DeviceEventKind,
  reason?: string | null,
  data?: Record<string, unknown> | null,
  ts?: number,
) => void;

/** The per-device event log, written behind in batches (never on the hot path). */
export class EventLogWriter {
  readonly writer: WriteBehind<DeviceEvent>;

  constructor(
    repository: EventLogRepository,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.writer = new WriteBehind<DeviceEvent>({
      name: "event-log",
      write: (batch) => repository.append(batch),
      clock,
      logger,
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

  flush(): Promise<void> {
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}
