import { parseId, requireId } from "../ids.js";
import { toJson } from "../json.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import type { DeviceEvent, EventLogRepository, EventQuery, Page } from "../types.js";
import { chunks, placeholders, valueRows } from "./batches.js";
import type { Dialect } from "./dialect.js";
import { existingDevices } from "./existing-devices.js";
import { eventFromRow, type SqlParam } from "./rows.js";
import type { SqlDb } from "./sql-db.js";

const COLUMNS = "id, device_id, ts, kind, reason, data";

/** The device event log in SQL; ids are Snowflakes, so id order is time order. */
export class SqlEventRepository implements EventLogRepository {
  constructor(
    private readonly db: SqlDb,
    private readonly dialect: Dialect,
  ) {}

  async append(events: DeviceEvent[]): Promise<void> {
    const rows = events
      .map((event) => ({ id: requireId(event.id), device: parseId(event.deviceId), event }))
      .filter((r): r is { id: bigint; device: bigint; event: DeviceEvent } => r.device !== undefined);
    if (rows.length === 0) return this.db.run(async () => undefined);
    await this.db.tx(async (db) => {
      const known = await existingDevices(db, this.dialect, [...new Set(rows.map((r) => r.device))]);
      for (const chunk of chunks(rows.filter((r) => known.has(r.device)))) {
        // A re-appended id keeps the first.
        await db.writeUncached(
          `INSERT INTO device_events (${COLUMNS}) VALUES ${valueRows(chunk.length, 6)} ${this.dialect.ignoreDuplicate("id")}`,
          chunk.flatMap(({ id, device, event }): SqlParam[] => [
            id,
            device,
            event.ts,
            event.kind,
            event.reason ?? null,
            event.data === null || event.data === undefined ? null : toJson(event.data),
          ]),
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
      sql += ` AND kind IN (${placeholders(kinds.length)})`;
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
    sql += ` ORDER BY id DESC${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) =>
      device === undefined
        ? { items: [] }
        : toPage((await db.all(sql, params)).map(eventFromRow), limit, (e) => e.id),
    );
  }

  async prune(before: number): Promise<number> {
    return this.db.run((db) => db.write("DELETE FROM device_events WHERE ts < ?", [before]), undefined, {
      maintenance: true,
    });
  }
}
