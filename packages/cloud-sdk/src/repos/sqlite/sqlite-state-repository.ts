import type { JsonObject } from "@cloudedge/protocol";
import { CloudErrorCode, NotFoundError } from "../../errors.js";
import { parseId } from "../ids.js";
import { toJson } from "../json.js";
import { stateFromRow } from "../sql/rows.js";
import { emptyState, type StateSide, VersionedStateRepository } from "../state-model.js";
import type { DeviceState } from "../types.js";
import type { SqliteDb } from "./sqlite-db.js";

/** Desired/reported documents in SQLite; the version check and the write are one transaction. */
export class SqliteStateRepository extends VersionedStateRepository {
  constructor(private readonly db: SqliteDb) {
    super();
  }

  async get(deviceId: string): Promise<DeviceState> {
    const key = parseId(deviceId);
    return this.db.run(() => {
      const row =
        key === undefined
          ? undefined
          : this.db.get(
              "SELECT device_id, desired, desired_version, reported, reported_version, updated_at FROM device_state WHERE device_id = ?",
              key,
            );
      return row ? stateFromRow(row) : emptyState(deviceId);
    });
  }

  async delete(deviceId: string): Promise<void> {
    const key = parseId(deviceId);
    this.db.run(() => {
      if (key !== undefined) this.db.write("DELETE FROM device_state WHERE device_id = ?", key);
    });
  }

  protected compareAndSet(
    deviceId: string,
    side: StateSide,
    doc: JsonObject,
    version: number,
    expectedVersion: number,
    now: number,
  ): boolean {
    const key = parseId(deviceId);
    if (key === undefined) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
    return this.db.tx(() => {
      // A device without a row is at version 0: the first write creates the empty row, so the CAS below is the only rule.
      if (expectedVersion === 0) {
        this.db.write(
          `INSERT INTO device_state (device_id, desired, desired_version, reported, reported_version, updated_at)
           VALUES (?, '{}', 0, '{}', 0, ?) ON CONFLICT (device_id) DO NOTHING`,
          key,
          now,
        );
      }
      const changed = this.db.write(
        side === "desired"
          ? "UPDATE device_state SET desired = ?, desired_version = ?, updated_at = ? WHERE device_id = ? AND desired_version = ?"
          : "UPDATE device_state SET reported = ?, reported_version = ?, updated_at = ? WHERE device_id = ? AND reported_version = ?",
        toJson(doc),
        version,
        now,
        key,
        expectedVersion,
      );
      if (changed === 0 && this.db.get("SELECT 1 AS x FROM devices WHERE id = ?", key) === undefined) {
        throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
      }
      return changed === 1;
    });
  }
}
