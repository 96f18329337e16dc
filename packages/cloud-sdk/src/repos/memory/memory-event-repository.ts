import { compareIds, requireId } from "../ids.js";
import { jsonClone } from "../json.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import type { DeviceEvent, EventLogRepository, EventQuery, Page } from "../types.js";
import type { MemoryTables } from "./memory-tables.js";

/** The device event log; appending an id twice keeps the first, events of unknown devices are dropped. */
export class MemoryEventRepository implements EventLogRepository {
  constructor(private readonly t: MemoryTables) {}

  async append(events: DeviceEvent[]): Promise<void> {
    this.t.assertOpen();
    for (const event of events) requireId(event.id);
    for (const event of events) {
      if (!this.t.devices.has(event.deviceId)) continue;
      let log = this.t.events.get(event.deviceId);
      if (log === undefined) {
        log = new Map();
        this.t.events.set(event.deviceId, log);
      }
      if (!log.has(event.id)) {
        log.set(event.id, {
          ...jsonClone(event),
          reason: event.reason ?? null,
          data: jsonClone(event.data ?? null),
        });
      }
    }
  }

  async list(deviceId: string, query: EventQuery = {}): Promise<Page<DeviceEvent>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const kinds = query.kinds && query.kinds.length > 0 ? new Set(query.kinds) : undefined;
    const events = [...(this.t.events.get(deviceId)?.values() ?? [])]
      .filter((e) => after === undefined || BigInt(e.id) < after)
      .filter((e) => kinds === undefined || kinds.has(e.kind))
      .filter(
        (e) =>
          (query.from === undefined || e.ts >= query.from) && (query.to === undefined || e.ts <= query.to),
      )
      .sort((a, b) => compareIds(b.id, a.id))
      .slice(0, limit + 1)
      .map((e) => jsonClone(e));
    return toPage(events, limit, (e) => e.id);
  }

  async prune(before: number): Promise<number> {
    this.t.assertOpen();
    let deleted = 0;
    for (const log of this.t.events.values()) {
      for (const [id, event] of log) {
        if (event.ts < before) {
          log.delete(id);
          deleted += 1;
        }
      }
    }
    return deleted;
  }
}
