import type { JsonObject } from "@cloudedge/protocol";
import { CloudErrorCode, NotFoundError } from "../../errors.js";
import { parseId } from "../ids.js";
import { toJson } from "../json.js";
import { emptyState, type StateSide, VersionedStateRepository } from "../state-model.js";
import type { DeviceState } from "../types.js";
import type { Dialect } from "./dialect.js";
import { stateFromRow } from "./rows.js";
import type { SqlDb, SqlRunner } from "./sql-db.js";

const CAS = {
  desired:
    "UPDATE device_state SET desired = ?, desired_version = ?, updated_at = ? WHERE device_id = ? AND desired_version = ?",
  reported:
    "UPDATE device_state SET reported = ?, reported_version = ?, updated_at = ? WHERE device_id = ? AND reported_version = ?",
} as const;

/**
 * Desired/reported documents in SQL. Each write is one guarded UPDATE (the CAS is the row's
 * own check), so it needs no transaction; only the very first write of a device inserts.
 */
export class SqlStateRepository extends VersionedStateRepository {
  constructor(
    private readonly db: SqlDb,
    private readonly dialect: Dialect,
  ) {
    super();
  }

  async get(deviceId: string): Promise<DeviceState> {
    const key = parseId(deviceId);
    return this.db.run(async (db) => {
      if (key === undefined) return emptyState(deviceId);
      const row = await db.get(
        "SELECT device_id, desired, desired_version, reported, reported_version, updated_at FROM device_state WHERE device_id = ?",
        [key],
      );
      return row ? stateFromRow(row) : emptyState(deviceId);
    });
  }

  async delete(deviceId: string): Promise<void> {
    const key = parseId(deviceId);
    await this.db.run(async (db) => {
      if (key !== undefined) await db.write("DELETE FROM device_state WHERE device_id = ?", [key]);
    });
  }

  protected async compareAndSet(
    deviceId: string,
    side: StateSide,
    doc: JsonObject,
    version: number,
    expectedVersion: number,
    now: number,
  ): Promise<boolean> {
    const key = parseId(deviceId);
    if (key === undefined) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
    const text = toJson(doc);
    const cas = async (db: SqlRunner) =>
      (await db.write(CAS[side], [text, version, now, key, expectedVersion])) === 1;
    return this.db.run(async (db) => {
      if (await cas(db)) return true;
      if (expectedVersion === 0) {
        // No row yet means version 0 on both sides: the first write creates it (an unknown device fails its FK).
        try {
          await db.write(
            "INSERT INTO device_state (device_id, desired, desired_version, reported, reported_version, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            side === "desired" ? [key, text, version, "{}", 0, now] : [key, "{}", 0, text, version, now],
          );
          return true;
        } catch (err) {
          // Someone created the row first (perhaps for the other side, still at 0 here): the CAS decides.
          if (!this.dialect.isDuplicateKey(err)) throw err;
          return cas(db);
        }
      }
      if ((await db.get("SELECT 1 AS x FROM devices WHERE id = ?", [key])) === undefined) {
        throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
      }
      return false;
    });
  }
}
