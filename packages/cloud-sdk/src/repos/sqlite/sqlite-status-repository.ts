import { parseId } from "../ids.js";
import { toJson } from "../json.js";
import { statusFromRow } from "../sql/rows.js";
import { historyQuery, newestPerDevice } from "../status-model.js";
import type { StatusHistoryQuery, StatusRecord, StatusRepository } from "../types.js";
import type { SqliteDb } from "./sqlite-db.js";

const COLUMNS = "device_id, ts, received_at, data";

/** Status history and latest in SQLite; a batch is one transaction (one fsync for the whole write-behind flush). */
export class SqliteStatusRepository implements StatusRepository {
  constructor(private readonly db: SqliteDb) {}

  async insertBatch(records: StatusRecord[]): Promise<void> {
    if (records.length === 0) return this.db.run(() => undefined);
    const rows = records
      .map((r) => ({ key: parseId(r.deviceId), record: r, data: toJson(r.data ?? {}) }))
      .filter((r): r is { key: bigint; record: StatusRecord; data: string } => r.key !== undefined);
    this.db.tx(() => {
      for (const { key, record, data } of rows) {
        // The EXISTS guard drops reports of devices deleted while the batch was buffered.
        this.db.write(
          `INSERT INTO status_history (${COLUMNS}) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?)
           ON CONFLICT (device_id, ts) DO NOTHING`,
          key,
          record.ts,
          record.receivedAt,
          data,
          key,
        );
      }
      for (const record of newestPerDevice(rows.map((r) => r.record))) {
        const key = parseId(record.deviceId) ?? -1n;
        this.db.write(
          `INSERT INTO status_latest (${COLUMNS}) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?)
           ON CONFLICT (device_id) DO UPDATE SET ts = excluded.ts, received_at = excluded.received_at, data = excluded.data
           WHERE excluded.ts > status_latest.ts`,
          key,
          record.ts,
          record.receivedAt,
          toJson(record.data ?? {}),
          key,
        );
      }
    });
  }

  async latest(deviceId: string): Promise<StatusRecord | undefined> {
    const key = parseId(deviceId);
    return this.db.run(() => {
      if (key === undefined) return undefined;
      const row = this.db.get(`SELECT ${COLUMNS} FROM status_latest WHERE device_id = ?`, key);
      return row && statusFromRow(row);
    });
  }

  async history(deviceId: string, query?: StatusHistoryQuery): Promise<StatusRecord[]> {
    const key = parseId(deviceId);
    const { from, to, limit, order } = historyQuery(query);
    return this.db.run(() => {
      if (key === undefined) return [];
      return this.db
        .all(
          `SELECT ${COLUMNS} FROM status_history WHERE device_id = ? AND ts >= ? AND ts <= ?
           ORDER BY ts ${order === "asc" ? "ASC" : "DESC"} LIMIT ?`,
          key,
          from ?? Number.MIN_SAFE_INTEGER,
          to ?? Number.MAX_SAFE_INTEGER,
          limit,
        )
        .map(statusFromRow);
    });
  }

  async prune(policy: { now: number; maxAgeMs?: number; maxRowsPerDevice?: number }): Promise<number> {
    return this.db.tx(() => {
      let deleted = 0;
      if (policy.maxAgeMs !== undefined) {
        deleted += this.db.write("DELETE FROM status_history WHERE ts < ?", policy.now - policy.maxAgeMs);
      }
      if (policy.maxRowsPerDevice !== undefined) {
        deleted += this.db.write(
          `DELETE FROM status_history WHERE (device_id, ts) IN (
             SELECT device_id, ts FROM (
               SELECT device_id, ts, row_number() OVER (PARTITION BY device_id ORDER BY ts DESC) AS rn
               FROM status_history
             ) WHERE rn > ?
           )`,
          Math.max(0, Math.floor(policy.maxRowsPerDevice)),
        );
      }
      return deleted;
    });
  }
}
