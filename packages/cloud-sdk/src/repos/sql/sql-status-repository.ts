import { compareIds, parseId } from "../ids.js";
import { toJson } from "../json.js";
import { historyQuery, newestPerDevice } from "../status-model.js";
import type { StatusHistoryQuery, StatusPrunePolicy, StatusRecord, StatusRepository } from "../types.js";
import { chunks, valueRows } from "./batches.js";
import type { Dialect } from "./dialect.js";
import { existingDevices } from "./existing-devices.js";
import { type SqlParam, statusFromRow } from "./rows.js";
import type { SqlDb } from "./sql-db.js";

const COLUMNS = "device_id, ts, received_at, data";

/** Status history and latest in SQL; a batch is one transaction of multi-row inserts. */
export class SqlStatusRepository implements StatusRepository {
  constructor(
    private readonly db: SqlDb,
    private readonly dialect: Dialect,
  ) {}

  async insertBatch(records: StatusRecord[]): Promise<void> {
    const keyed = records
      .map((record) => ({ key: parseId(record.deviceId), record }))
      .filter((r): r is { key: bigint; record: StatusRecord } => r.key !== undefined);
    if (keyed.length === 0) return this.db.run(async () => undefined);
    await this.db.tx(async (db) => {
      // Reports of devices deleted while the batch was buffered are dropped; the transaction
      // keeps those devices from being deleted before our inserts (whose FKs would then fail).
      const known = await existingDevices(db, this.dialect, [...new Set(keyed.map((r) => r.key))]);
      const rows = keyed.filter((r) => known.has(r.key)).map((r) => r.record);
      for (const chunk of chunks(rows)) {
        // A replayed report (same device and ts) is kept once.
        await db.writeUncached(
          `INSERT INTO status_history (${COLUMNS}) VALUES ${valueRows(chunk.length, 4)} ${this.dialect.ignoreDuplicate("device_id")}`,
          chunk.flatMap(values),
        );
      }
      // Sorted by device so concurrent batches take the latest-row locks in the same order.
      const latest = newestPerDevice(rows).sort((a, b) => compareIds(a.deviceId, b.deviceId));
      for (const chunk of chunks(latest)) {
        await db.writeUncached(
          `INSERT INTO status_latest (${COLUMNS}) VALUES ${valueRows(chunk.length, 4)} ${this.dialect.keepNewestStatus}`,
          chunk.flatMap(values),
        );
      }
    });
  }

  async latest(deviceId: string): Promise<StatusRecord | undefined> {
    const key = parseId(deviceId);
    return this.db.run(async (db) => {
      if (key === undefined) return undefined;
      const row = await db.get(`SELECT ${COLUMNS} FROM status_latest WHERE device_id = ?`, [key]);
      return row && statusFromRow(row);
    });
  }

  async history(deviceId: string, query?: StatusHistoryQuery): Promise<StatusRecord[]> {
    const key = parseId(deviceId);
    const { from, to, limit, order } = historyQuery(query);
    const params: SqlParam[] = [key ?? -1, from ?? Number.MIN_SAFE_INTEGER, to ?? Number.MAX_SAFE_INTEGER];
    const sql =
      `SELECT ${COLUMNS} FROM status_history WHERE device_id = ? AND ts >= ? AND ts <= ?` +
      ` ORDER BY ts ${order === "asc" ? "ASC" : "DESC"}${this.dialect.limit(limit, params)}`;
    return this.db.run(async (db) =>
      key === undefined ? [] : (await db.all(sql, params)).map(statusFromRow),
    );
  }

  /** Each delete commits on its own: retention needs no atomicity, and short statements hold locks briefly. */
  async prune(policy: StatusPrunePolicy): Promise<number> {
    const device = policy.deviceId === undefined ? undefined : parseId(policy.deviceId);
    if (policy.deviceId !== undefined && device === undefined) return this.db.run(async () => 0);
    const scope: SqlParam[] = device === undefined ? [] : [device];
    const window = "OVER (PARTITION BY device_id ORDER BY ts DESC)";
    const ranked: Array<[string, number | undefined]> = [
      [`ROW_NUMBER() ${window}`, policy.maxRowsPerDevice],
      [`SUM(${this.dialect.byteLength("data")}) ${window}`, policy.maxBytesPerDevice],
    ];
    return this.db.run(
      async (db) => {
        let deleted = 0;
        if (policy.maxAgeMs !== undefined) {
          deleted += await db.write(
            `DELETE FROM status_history WHERE ts < ?${device === undefined ? "" : " AND device_id = ?"}`,
            [policy.now - policy.maxAgeMs, ...scope],
          );
        }
        for (const [rank, bound] of ranked) {
          if (bound === undefined) continue;
          deleted += await db.write(this.dialect.pruneStatusRanked(rank, device !== undefined), [
            ...scope,
            Math.max(0, Math.floor(bound)),
          ]);
        }
        return deleted;
      },
      undefined,
      { maintenance: true },
    );
  }
}

function values(r: StatusRecord): SqlParam[] {
  return [BigInt(r.deviceId), r.ts, r.receivedAt, toJson(r.data ?? {})];
}
