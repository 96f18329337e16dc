import type { JsonObject } from "@cloudedge/protocol";
import { CloudErrorCode, NotFoundError } from "../../errors.js";
import { parseId } from "../ids.js";
import { toJson } from "../json.js";
import { stateFromRow } from "../sql/rows.js";
import { emptyState, type StateSide, VersionedStateRepository } from "../state-model.js";
import type { DeviceState } from "../types.js";
import type { MysqlDb, MysqlRunner } from "./mysql-db.js";

const CAS = {
  desired:
    "UPDATE device_state SET desired = ?, desired_version = ?, updated_at = ? WHERE device_id = ? AND desired_version = ?",
  reported:
    "UPDATE device_state SET reported = ?, reported_version = ?, updated_at = ? WHERE device_id = ? AND reported_version = ?",
} as const;

/** Desired/reported documents in MySQL / MariaDB; each write is one guarded UPDATE (the CAS is the row's own check). */
export class MysqlStateRepository extends VersionedStateRepository {
  constructor(private readonly db: MysqlDb) {
    super();
  }

  async get(deviceId: string): Promise<DeviceState> {
    const key = parseId(deviceId);
    return this.db.run(async (db) => {
      if (key === undefined) return emptyState(deviceId);
      const [row] = await db.rows(
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
    return this.db.run(async (db) => {
      if (await cas(db, side, text, version, expectedVersion, now, key)) return true;
      if (expectedVersion === 0) {
        // No row yet means version 0 on both sides: the first write creates it.
        try {
          await db.write(
            "INSERT INTO device_state (device_id, desired, desired_version, reported, reported_version, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            side === "desired" ? [key, text, version, "{}", 0, now] : [key, "{}", 0, text, version, now],
          );
          return true;
        } catch (err) {
          // Someone created the row first (perhaps for the other side, still at 0 here): the CAS decides.
          if ((err as { code?: unknown }).code !== "ER_DUP_ENTRY") throw err;
          return cas(db, side, text, version, expectedVersion, now, key);
        }
      }
      const [device] = await db.rows("SELECT 1 AS x FROM devices WHERE id = ?", [key]);
      if (device === undefined) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
      return false;
    });
  }
}

async function cas(
  db: MysqlRunner,
  side: StateSide,
  text: string,
  version: number,
  expectedVersion: number,
  now: number,
  key: bigint,
): Promise<boolean> {
  return (await db.write(CAS[side], [text, version, now, key, expectedVersion])) === 1;
}
