import { parseId, requireId } from "../ids.js";
import { toJson } from "../json.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import { eventFromRow, type SqlParam } from "../sql/rows.js";
import type { DeviceEvent, EventLogRepository, EventQuery, Page } from "../types.js";
import type { MysqlDb } from "./mysql-db.js";
import { existingDevices } from "./mysql-existing-devices.js";

const COLUMNS = "id, device_id, ts, kind, reason, data";
const INSERT_CHUNK = 500;

/** The device event log in MySQL / MariaDB; ids are Snowflakes, so id order is time order. */
export class MysqlEventRepository implements EventLogRepository {
  constructor(private readonly db: MysqlDb) {}

  async append(events: DeviceEvent[]): Promise<void> {
    const rows = events
      .map((event) => ({ id: requireId(event.id), device: parseId(event.deviceId), event }))
      .filter((r): r is { id: bigint; device: bigint; event: DeviceEvent } => r.device !== undefined);
    if (rows.length === 0) return this.db.run(async () => undefined);
    await this.db.tx(async (db) => {
      const known = await existingDevices(db, [...new Set(rows.map((r) => r.device))]);
      const kept = rows.filter((r) => known.has(r.device));
      for (let i = 0; i < kept.length; i += INSERT_CHUNK) {
        const chunk = kept.slice(i, i + INSERT_CHUNK);
        // A re-appended id keeps the first; not INSERT IGNORE, which would hide real errors.
        await db.writeText(
          `INSERT INTO device_events (${COLUMNS}) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}
           ON DUPLICATE KEY UPDATE id = id`,
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
    const params: SqlParam[] = [device ?? 0n];
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
    sql += ` ORDER BY id DESC LIMIT ${limit + 1}`;
    return this.db.run(async (db) =>
      device === undefined
        ? { items: [] }
        : toPage((await db.rows(sql, params)).map(eventFromRow), limit, (e) => e.id),
    );
  }

  async prune(before: number): Promise<number> {
    return this.db.run((db) => db.write("DELETE FROM device_events WHERE ts < ?", [before]));
  }
}
