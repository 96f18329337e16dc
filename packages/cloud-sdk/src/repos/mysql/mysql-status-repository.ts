import { compareIds, parseId } from "../ids.js";
import { toJson } from "../json.js";
import { type SqlParam, statusFromRow } from "../sql/rows.js";
import { historyQuery, newestPerDevice } from "../status-model.js";
import type { StatusHistoryQuery, StatusRecord, StatusRepository } from "../types.js";
import type { MysqlDb } from "./mysql-db.js";
import { existingDevices } from "./mysql-existing-devices.js";

const COLUMNS = "device_id, ts, received_at, data";
const INSERT_CHUNK = 500;

/** Status history and latest in MySQL / MariaDB; a batch is one transaction of multi-row inserts. */
export class MysqlStatusRepository implements StatusRepository {
  constructor(private readonly db: MysqlDb) {}

  async insertBatch(records: StatusRecord[]): Promise<void> {
    const keyed = records
      .map((record) => ({ key: parseId(record.deviceId), record }))
      .filter((r): r is { key: bigint; record: StatusRecord } => r.key !== undefined);
    if (keyed.length === 0) return this.db.run(async () => undefined);
    await this.db.tx(async (db) => {
      // Reports of devices deleted while the batch was buffered are dropped; the shared locks
      // keep those devices from being deleted before our inserts (whose FKs would then fail).
      const known = await existingDevices(db, [...new Set(keyed.map((r) => r.key))]);
      const rows = keyed.filter((r) => known.has(r.key)).map((r) => r.record);
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK);
        // A replayed report (same device and ts) is kept once; not INSERT IGNORE, which would hide real errors.
        await db.writeText(
          `INSERT INTO status_history (${COLUMNS}) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}
           ON DUPLICATE KEY UPDATE device_id = device_id`,
          chunk.flatMap(values),
        );
      }
      // Sorted by device so concurrent batches take the latest-row locks in the same order.
      const latest = newestPerDevice(rows).sort((a, b) => compareIds(a.deviceId, b.deviceId));
      for (let i = 0; i < latest.length; i += INSERT_CHUNK) {
        const chunk = latest.slice(i, i + INSERT_CHUNK);
        // Assignments run left to right: ts must change last, after the others compared against the old ts.
        await db.writeText(
          `INSERT INTO status_latest (${COLUMNS}) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}
           ON DUPLICATE KEY UPDATE
             data = IF(VALUES(ts) > ts, VALUES(data), data),
             received_at = IF(VALUES(ts) > ts, VALUES(received_at), received_at),
             ts = GREATEST(ts, VALUES(ts))`,
          chunk.flatMap(values),
        );
      }
    });
  }

  async latest(deviceId: string): Promise<StatusRecord | undefined> {
    const key = parseId(deviceId);
    return this.db.run(async (db) => {
      if (key === undefined) return undefined;
      const [row] = await db.rows(`SELECT ${COLUMNS} FROM status_latest WHERE device_id = ?`, [key]);
      return row && statusFromRow(row);
    });
  }

  async history(deviceId: string, query?: StatusHistoryQuery): Promise<StatusRecord[]> {
    const key = parseId(deviceId);
    const { from, to, limit, order } = historyQuery(query);
    return this.db.run(async (db) => {
      if (key === undefined) return [];
      const rows = await db.rows(
        `SELECT ${COLUMNS} FROM status_history WHERE device_id = ? AND ts >= ? AND ts <= ?
         ORDER BY ts ${order === "asc" ? "ASC" : "DESC"} LIMIT ${limit}`,
        [key, from ?? Number.MIN_SAFE_INTEGER, to ?? Number.MAX_SAFE_INTEGER],
      );
      return rows.map(statusFromRow);
    });
  }

  async prune(policy: { now: number; maxAgeMs?: number; maxRowsPerDevice?: number }): Promise<number> {
    return this.db.run(async (db) => {
      let deleted = 0;
      if (policy.maxAgeMs !== undefined) {
        deleted += await db.write("DELETE FROM status_history WHERE ts < ?", [policy.now - policy.maxAgeMs]);
      }
      if (policy.maxRowsPerDevice !== undefined) {
        // The derived table is materialised first, which is what lets MySQL delete from the table it reads.
        deleted += await db.write(
          `DELETE h FROM status_history h JOIN (
             SELECT device_id, ts FROM (
               SELECT device_id, ts, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY ts DESC) AS rn
               FROM status_history
             ) ranked WHERE rn > ?
           ) old ON h.device_id = old.device_id AND h.ts = old.ts`,
          [Math.max(0, Math.floor(policy.maxRowsPerDevice))],
        );
      }
      return deleted;
    });
  }
}

function values(r: StatusRecord): SqlParam[] {
  return [BigInt(r.deviceId), r.ts, r.receivedAt, toJson(r.data ?? {})];
}
