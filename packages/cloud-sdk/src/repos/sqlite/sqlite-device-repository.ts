import { CloudErrorCode, ConflictError } from "../../errors.js";
import { applyDevicePatch, deviceFromNew, INITIAL_GENERATION } from "../device-model.js";
import { parseId, requireId } from "../ids.js";
import { toJson } from "../json.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import { credentialsFromRow, DEVICE_COLUMNS, deviceFromRow, type SqlParam } from "../sql/rows.js";
import type {
  Device,
  DeviceCredentials,
  DevicePatch,
  DeviceQuery,
  DeviceRepository,
  NewDevice,
  Page,
  PresenceWrite,
} from "../types.js";
import type { SqliteDb } from "./sqlite-db.js";

/** A UNIQUE violation on devices: the identity index means "device exists", the primary key a reused id. */
function deviceDuplicate(constraint: string) {
  return constraint.includes("serial_number")
    ? new ConflictError(CloudErrorCode.DEVICE_EXISTS, "a device with this serial number and model exists")
    : new ConflictError(CloudErrorCode.CONFLICT, "device id is taken");
}

/** Devices in SQLite. */
export class SqliteDeviceRepository implements DeviceRepository {
  constructor(private readonly db: SqliteDb) {}

  async create(input: NewDevice): Promise<Device> {
    const id = requireId(input.id);
    const device = deviceFromNew(input);
    return this.db.run(() => {
      this.db.write(
        `INSERT INTO devices (id, name, type, description, labels, disabled, secret_hash, generation, serial_number,
           model, nics, software, online, connected_at, last_seen_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, ?, ?)`,
        id,
        device.name,
        device.type,
        device.description,
        toJson(device.labels),
        device.disabled ? 1 : 0,
        input.secretHash,
        INITIAL_GENERATION,
        device.hardware.serialNumber ?? null,
        device.hardware.model ?? null,
        toJson(device.hardware.nics),
        toJson(device.software),
        device.createdAt,
        device.updatedAt,
      );
      return device;
    }, deviceDuplicate);
  }

  async get(id: string): Promise<Device | undefined> {
    const key = parseId(id);
    if (key === undefined) return this.db.run(() => undefined);
    return this.db.run(() => this.read(key));
  }

  async findBySerial(serialNumber: string, model: string): Promise<Device | undefined> {
    return this.db.run(() => {
      const row = this.db.get(
        `SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.serial_number = ? AND d.model = ?`,
        serialNumber,
        model,
      );
      return row && deviceFromRow(row);
    });
  }

  async getCredentials(id: string): Promise<DeviceCredentials | undefined> {
    const key = parseId(id);
    return this.db.run(() => {
      if (key === undefined) return undefined;
      const row = this.db.get("SELECT id, secret_hash, generation, disabled FROM devices WHERE id = ?", key);
      return row && credentialsFromRow(row);
    });
  }

  async list(query: DeviceQuery = {}): Promise<Page<Device>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (after !== undefined) {
      where.push("d.id > ?");
      params.push(after);
    }
    if (query.groupId !== undefined) {
      where.push("EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = ? AND m.device_id = d.id)");
      params.push(parseId(query.groupId) ?? -1);
    }
    if (query.label !== undefined) {
      // json_each matches any key exactly, with no JSON-path quoting to get wrong.
      if (query.label.value === undefined) {
        where.push("EXISTS (SELECT 1 FROM json_each(d.labels) l WHERE l.key = ?)");
        params.push(query.label.key);
      } else {
        where.push("EXISTS (SELECT 1 FROM json_each(d.labels) l WHERE l.key = ? AND l.value = ?)");
        params.push(query.label.key, query.label.value);
      }
    }
    if (query.online !== undefined) {
      where.push("d.online = ?");
      params.push(query.online ? 1 : 0);
    }
    if (query.text) {
      // ce_lower is JS toLowerCase (SQLite's lower() is ASCII-only), so matching equals the memory store's.
      where.push(
        "(instr(ce_lower(d.name), ?) > 0 OR instr(ce_lower(d.description), ?) > 0 OR " +
          "instr(ce_lower(coalesce(d.serial_number, '')), ?) > 0 OR instr(ce_lower(coalesce(d.model, '')), ?) > 0)",
      );
      const needle = query.text.toLowerCase();
      params.push(needle, needle, needle, needle);
    }
    const sql =
      `SELECT ${DEVICE_COLUMNS} FROM devices d` +
      (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
      " ORDER BY d.id LIMIT ?";
    return this.db.run(() =>
      toPage(this.db.all(sql, ...params, limit + 1).map(deviceFromRow), limit, (d) => d.id),
    );
  }

  async update(id: string, patch: DevicePatch, now: number): Promise<Device | undefined> {
    const key = parseId(id);
    return this.db.tx(() => {
      if (key === undefined) return undefined;
      const current = this.read(key);
      if (current === undefined) return undefined;
      const { device, bumpGeneration } = applyDevicePatch(current, patch, now);
      this.db.write(
        `UPDATE devices SET name = ?, type = ?, description = ?, labels = ?, disabled = ?, serial_number = ?,
           model = ?, nics = ?, software = ?, updated_at = ?, generation = generation + ?
         WHERE id = ?`,
        device.name,
        device.type,
        device.description,
        toJson(device.labels),
        device.disabled ? 1 : 0,
        device.hardware.serialNumber ?? null,
        device.hardware.model ?? null,
        toJson(device.hardware.nics),
        toJson(device.software),
        device.updatedAt,
        bumpGeneration ? 1 : 0,
        key,
      );
      return device;
    }, deviceDuplicate);
  }

  async setSecret(id: string, secretHash: string, now: number): Promise<number | undefined> {
    const key = parseId(id);
    return this.db.tx(() => {
      if (key === undefined) return undefined;
      const changed = this.db.write(
        "UPDATE devices SET secret_hash = ?, generation = generation + 1, updated_at = ? WHERE id = ?",
        secretHash,
        now,
        key,
      );
      if (changed === 0) return undefined;
      const row = this.db.get("SELECT id, secret_hash, generation, disabled FROM devices WHERE id = ?", key);
      return row && credentialsFromRow(row).generation;
    });
  }

  async setPresence(id: string, presence: PresenceWrite): Promise<void> {
    const key = parseId(id);
    this.db.run(() => {
      if (key === undefined) return;
      // `IS` compares NULL as a value: null matches a never-connected device.
      const guard = presence.ifConnectedAt !== undefined ? " AND connected_at IS ?" : "";
      const condition = presence.ifConnectedAt !== undefined ? [presence.ifConnectedAt] : [];
      if (presence.connectedAt === undefined) {
        this.db.write(
          `UPDATE devices SET online = ?, last_seen_at = ? WHERE id = ?${guard}`,
          presence.online ? 1 : 0,
          presence.lastSeenAt,
          key,
          ...condition,
        );
      } else {
        this.db.write(
          `UPDATE devices SET online = ?, connected_at = ?, last_seen_at = ? WHERE id = ?${guard}`,
          presence.online ? 1 : 0,
          presence.connectedAt,
          presence.lastSeenAt,
          key,
          ...condition,
        );
      }
    });
  }

  async touchLastSeen(entries: Array<{ id: string; lastSeenAt: number }>): Promise<void> {
    if (entries.length === 0) return this.db.run(() => undefined);
    this.db.tx(() => {
      for (const entry of entries) {
        const key = parseId(entry.id);
        if (key === undefined) continue;
        // Only forward: a late coarse refresh must not move lastSeen back behind a presence write.
        this.db.write(
          "UPDATE devices SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)",
          entry.lastSeenAt,
          key,
          entry.lastSeenAt,
        );
      }
    });
  }

  async markAllOffline(now: number): Promise<number> {
    return this.db.run(() =>
      this.db.write(
        "UPDATE devices SET online = 0, last_seen_at = coalesce(last_seen_at, ?) WHERE online = 1",
        now,
      ),
    );
  }

  async delete(id: string): Promise<boolean> {
    const key = parseId(id);
    return this.db.run(() => key !== undefined && this.db.write("DELETE FROM devices WHERE id = ?", key) > 0);
  }

  private read(key: bigint): Device | undefined {
    const row = this.db.get(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = ?`, key);
    return row && deviceFromRow(row);
  }
}
