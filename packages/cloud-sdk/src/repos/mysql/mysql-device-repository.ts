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
import type { MysqlDb, MysqlRunner } from "./mysql-db.js";

const TOUCH_CHUNK = 500;

/** A duplicate key on devices: the identity index means "device exists", the primary key a reused id. */
function deviceDuplicate(key: string) {
  return key === "uq_devices_serial_model"
    ? new ConflictError(CloudErrorCode.DEVICE_EXISTS, "a device with this serial number and model exists")
    : new ConflictError(CloudErrorCode.CONFLICT, "device id is taken");
}

/** Devices in MySQL / MariaDB. */
export class MysqlDeviceRepository implements DeviceRepository {
  constructor(private readonly db: MysqlDb) {}

  async create(input: NewDevice): Promise<Device> {
    const id = requireId(input.id);
    const device = deviceFromNew(input);
    return this.db.run(async (db) => {
      await db.write(
        `INSERT INTO devices (id, name, type, description, labels, disabled, secret_hash, generation, serial_number,
           model, nics, software, online, connected_at, last_seen_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, ?, ?)`,
        [
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
        ],
      );
      return device;
    }, deviceDuplicate);
  }

  async get(id: string): Promise<Device | undefined> {
    const key = parseId(id);
    return this.db.run(async (db) => (key === undefined ? undefined : read(db, key)));
  }

  async findBySerial(serialNumber: string, model: string): Promise<Device | undefined> {
    return this.db.run(async (db) => {
      const [row] = await db.rows(
        `SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.serial_number = ? AND d.model = ?`,
        [serialNumber, model],
      );
      return row && deviceFromRow(row);
    });
  }

  async getCredentials(id: string): Promise<DeviceCredentials | undefined> {
    const key = parseId(id);
    return this.db.run(async (db) => {
      if (key === undefined) return undefined;
      const [row] = await db.rows("SELECT id, secret_hash, generation, disabled FROM devices WHERE id = ?", [
        key,
      ]);
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
      params.push(parseId(query.groupId) ?? 0n);
    }
    if (query.label !== undefined) {
      // JSON_KEYS / JSON_OBJECT take the key as a value, so no JSON-path quoting can go wrong.
      if (query.label.value === undefined) {
        where.push("JSON_CONTAINS(JSON_KEYS(d.labels), JSON_QUOTE(?))");
        params.push(query.label.key);
      } else {
        where.push("JSON_CONTAINS(d.labels, JSON_OBJECT(?, ?))");
        params.push(query.label.key, query.label.value);
      }
    }
    if (query.online !== undefined) {
      where.push("d.online = ?");
      params.push(query.online ? 1 : 0);
    }
    if (query.text) {
      // Columns are utf8mb4_bin (exact), so lower both sides for a case-insensitive match.
      where.push(
        "(LOCATE(?, LOWER(d.name)) > 0 OR LOCATE(?, LOWER(d.description)) > 0 OR " +
          "LOCATE(?, LOWER(COALESCE(d.serial_number, ''))) > 0 OR LOCATE(?, LOWER(COALESCE(d.model, ''))) > 0)",
      );
      const needle = query.text.toLowerCase();
      params.push(needle, needle, needle, needle);
    }
    const sql =
      `SELECT ${DEVICE_COLUMNS} FROM devices d` +
      (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
      ` ORDER BY d.id LIMIT ${limit + 1}`;
    return this.db.run(async (db) =>
      toPage((await db.rows(sql, params)).map(deviceFromRow), limit, (d) => d.id),
    );
  }

  async update(id: string, patch: DevicePatch, now: number): Promise<Device | undefined> {
    const key = parseId(id);
    if (key === undefined) return this.db.run(async () => undefined);
    return this.db.tx(async (db) => {
      const current = await read(db, key, true);
      if (current === undefined) return undefined;
      const { device, bumpGeneration } = applyDevicePatch(current, patch, now);
      await db.write(
        `UPDATE devices SET name = ?, type = ?, description = ?, labels = ?, disabled = ?, serial_number = ?,
           model = ?, nics = ?, software = ?, updated_at = ?, generation = generation + ?
         WHERE id = ?`,
        [
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
        ],
      );
      return device;
    }, deviceDuplicate);
  }

  async setSecret(id: string, secretHash: string, now: number): Promise<number | undefined> {
    const key = parseId(id);
    if (key === undefined) return this.db.run(async () => undefined);
    return this.db.tx(async (db) => {
      const changed = await db.write(
        "UPDATE devices SET secret_hash = ?, generation = generation + 1, updated_at = ? WHERE id = ?",
        [secretHash, now, key],
      );
      if (changed === 0) return undefined;
      // Read inside the transaction: the row stays locked, so this is our bump, not a racing one.
      const [row] = await db.rows("SELECT id, secret_hash, generation, disabled FROM devices WHERE id = ?", [
        key,
      ]);
      return row && credentialsFromRow(row).generation;
    });
  }

  async setPresence(id: string, presence: PresenceWrite): Promise<void> {
    const key = parseId(id);
    await this.db.run(async (db) => {
      if (key === undefined) return;
      // `<=>` is the NULL-safe equality: null matches a never-connected device.
      const guard = presence.ifConnectedAt !== undefined ? " AND connected_at <=> ?" : "";
      const condition = presence.ifConnectedAt !== undefined ? [presence.ifConnectedAt] : [];
      if (presence.connectedAt === undefined) {
        await db.write(`UPDATE devices SET online = ?, last_seen_at = ? WHERE id = ?${guard}`, [
          presence.online ? 1 : 0,
          presence.lastSeenAt,
          key,
          ...condition,
        ]);
      } else {
        await db.write(
          `UPDATE devices SET online = ?, connected_at = ?, last_seen_at = ? WHERE id = ?${guard}`,
          [presence.online ? 1 : 0, presence.connectedAt, presence.lastSeenAt, key, ...condition],
        );
      }
    });
  }

  async touchLastSeen(entries: Array<{ id: string; lastSeenAt: number }>): Promise<void> {
    // The newest time per device, in id order: one pass, and concurrent batches lock rows in the same order.
    const newest = new Map<bigint, number>();
    for (const entry of entries) {
      const key = parseId(entry.id);
      if (key !== undefined) newest.set(key, Math.max(entry.lastSeenAt, newest.get(key) ?? entry.lastSeenAt));
    }
    const sorted = [...newest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (sorted.length === 0) return this.db.run(async () => undefined);
    await this.db.tx(async (db) => {
      for (let i = 0; i < sorted.length; i += TOUCH_CHUNK) {
        const chunk = sorted.slice(i, i + TOUCH_CHUNK);
        // One statement per chunk; only forward, so a late coarse refresh never moves lastSeen behind a presence write.
        await db.writeText(
          `UPDATE devices d JOIN (${chunk.map(() => "SELECT ? AS id, ? AS ts").join(" UNION ALL ")}) t ON d.id = t.id
           SET d.last_seen_at = t.ts WHERE d.last_seen_at IS NULL OR d.last_seen_at < t.ts`,
          chunk.flat(),
        );
      }
    });
  }

  async markAllOffline(now: number): Promise<number> {
    return this.db.run((db) =>
      db.write("UPDATE devices SET online = 0, last_seen_at = COALESCE(last_seen_at, ?) WHERE online = 1", [
        now,
      ]),
    );
  }

  async delete(id: string): Promise<boolean> {
    const key = parseId(id);
    return this.db.run(
      async (db) => key !== undefined && (await db.write("DELETE FROM devices WHERE id = ?", [key])) > 0,
    );
  }
}

async function read(db: MysqlRunner, key: bigint, forUpdate = false): Promise<Device | undefined> {
  const [row] = await db.rows(
    `SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = ?${forUpdate ? " FOR UPDATE" : ""}`,
    [key],
  );
  return row && deviceFromRow(row);
}
