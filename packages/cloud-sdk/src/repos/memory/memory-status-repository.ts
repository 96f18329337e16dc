import { jsonClone, toJson } from "../json.js";
import { historyQuery, newestPerDevice } from "../status-model.js";
import type { StatusHistoryQuery, StatusPrunePolicy, StatusRecord, StatusRepository } from "../types.js";
import type { MemoryTables } from "./memory-tables.js";

/** Status history per device, kept sorted by ts; a second report with the same ts is a replay and is dropped. */
export class MemoryStatusRepository implements StatusRepository {
  constructor(private readonly t: MemoryTables) {}

  async insertBatch(records: StatusRecord[]): Promise<void> {
    this.t.assertOpen();
    // Reports of devices deleted while the batch was buffered are dropped, as in SQL.
    const known = records.filter((r) => this.t.devices.has(r.deviceId)).map((r) => jsonClone(r));
    for (const record of known) insertSorted(this.rowsOf(record.deviceId), record);
    for (const record of newestPerDevice(known)) {
      const latest = this.t.statusLatest.get(record.deviceId);
      if (latest === undefined || record.ts > latest.ts) this.t.statusLatest.set(record.deviceId, record);
    }
  }

  async latest(deviceId: string): Promise<StatusRecord | undefined> {
    this.t.assertOpen();
    const latest = this.t.statusLatest.get(deviceId);
    return latest && jsonClone(latest);
  }

  async history(deviceId: string, query?: StatusHistoryQuery): Promise<StatusRecord[]> {
    this.t.assertOpen();
    const { from, to, limit, order } = historyQuery(query);
    const rows = (this.t.statusHistory.get(deviceId) ?? []).filter(
      (r) => (from === undefined || r.ts >= from) && (to === undefined || r.ts <= to),
    );
    if (order === "desc") rows.reverse();
    return rows.slice(0, limit).map((r) => jsonClone(r));
  }

  async prune(policy: StatusPrunePolicy): Promise<number> {
    this.t.assertOpen();
    let deleted = 0;
    for (const [deviceId, rows] of this.t.statusHistory) {
      if (policy.deviceId !== undefined && deviceId !== policy.deviceId) continue;
      let kept = rows;
      if (policy.maxAgeMs !== undefined) {
        const cutoff = policy.now - policy.maxAgeMs;
        kept = kept.filter((r) => r.ts >= cutoff);
      }
      if (policy.maxRowsPerDevice !== undefined) {
        kept = kept.slice(Math.max(0, kept.length - Math.max(0, Math.floor(policy.maxRowsPerDevice))));
      }
      if (policy.maxBytesPerDevice !== undefined) kept = newestWithin(kept, policy.maxBytesPerDevice);
      deleted += rows.length - kept.length;
      this.t.statusHistory.set(deviceId, kept);
    }
    return deleted;
  }

  private rowsOf(deviceId: string): StatusRecord[] {
    let rows = this.t.statusHistory.get(deviceId);
    if (rows === undefined) {
      rows = [];
      this.t.statusHistory.set(deviceId, rows);
    }
    return rows;
  }
}

/** The newest rows (sorted by ts) whose data, as JSON text, adds up to at most `maxBytes`. */
function newestWithin(rows: StatusRecord[], maxBytes: number): StatusRecord[] {
  let total = 0;
  let first = rows.length;
  while (first > 0) {
    total += Buffer.byteLength(toJson((rows[first - 1] as StatusRecord).data ?? {}));
    if (total > maxBytes) break;
    first--;
  }
  return rows.slice(first);
}

/** Binary insertion by ts; an equal ts is already stored (first report wins). */
function insertSorted(rows: StatusRecord[], record: StatusRecord): void {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const ts = rows[mid]?.ts ?? 0;
    if (ts < record.ts) lo = mid + 1;
    else hi = mid;
  }
  if (rows[lo]?.ts === record.ts) return;
  rows.splice(lo, 0, record);
}
