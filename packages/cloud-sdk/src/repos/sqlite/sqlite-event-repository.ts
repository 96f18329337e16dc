import { parseId, requireId } from "../ids.js";
import { toJson } from "../json.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import { eventFromRow, type SqlParam } from "../sql/rows.js";
import type { DeviceEvent, EventLogRepository, EventQuery, Page } from "../types.js";
import type { SqliteDb } from "./sqlite-db.js";

const COLUMNS = "id, device_id, ts, kind, reason, data";

/** The device event log in SQLite; ids are Snowflakes, so id order is time order. */
export class SqliteEventRepository implements EventLogRepository {
  constructor(private readonly db: SqliteDb) {}

  async append(events: DeviceEvent[]): Promise<void> {
    const rows = events.map((e) => ({ id: requireId(e.id), device: parseId(e.deviceId), event: e }));
    if (rows.length === 0) return this.db.run(() => undefined);
    this.db.tx(() => {
      for (const { id, device, event } of rows) {
        if (device === undefined) continue;
        // Events of a device deleted meanwhile are dropped; a re-appended id keeps the first.
        this.db.write(
          `INSERT INTO device_events (${COLUMNS}) SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?)
           ON CONFLICT (id) DO NOTHING`,
          id,
          device,
          event.ts,
          event.kind,
          event.reason ?? null,
          event.data === null || event.data === undefined ? null : toJson(event.data),
          device,
        );
      }
    });
  }

  async list(deviceId: string, query: EventQuery = {}): Promise<Page<DeviceEvent>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const device = parseId(deviceId);
    const kinds = query.kinds ?? [];
    const params: SqlParam[] = [device ?? -1];
    let sql = `SELECT ${COLUMNS} FROM device_events WHERE device_id = ?`;
    if (after !== undefined) {
      sql += " AND id < ?";
      params.push(after);
    }
    if (kinds.length > 0) {
      sql += ` AND kind IN (${kinds.map(() => "?").join(", ")})`;
      params.push(...kinds);
    }
    if (query.from !== undefined) {
      sql += " AND ts >= ?";
      params.push(query.from);
    }
    if (query.to !== undefined) {
      sql += " AND ts <= ?";
      params.push(query.to);
    }
    sql += " ORDER BY id DESC LIMIT ?";
    params.push(limit + 1);
    return this.db.run(() => toPage(this.db.all(sql, ...params).map(eventFromRow), limit, (e) => e.id));
  }

  async prune(before: number): Promise<number> {
    return this.db.run(() => this.db.write("DELETE FROM device_events WHERE ts < ?", before));
  }
}
