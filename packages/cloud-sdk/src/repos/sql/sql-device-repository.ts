import { CloudErrorCode, ConflictError } from "../../errors.js";
import { applyDevicePatch, deviceFromNew, INITIAL_GENERATION } from "../device-model.js";
import { parseId, requireId } from "../ids.js";
import { toJson } from "../json.js";
import { afterId, pageLimit, toPage } from "../paging.js";
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
import { chunks } from "./batches.js";
import type { Dialect } from "./dialect.js";
import { credentialsFromRow, DEVICE_COLUMNS, deviceFromRow, type SqlParam } from "./rows.js";
import type { DuplicateKey, SqlDb, SqlRunner } from "./sql-db.js";

const CREDENTIAL_COLUMNS = "id, secret_hash, generation, disabled";

/** A duplicate key on devices: the (serial_number, model) index means "device exists", the primary key a reused id. */
function deviceDuplicate(key: DuplicateKey) {
  return key === "unique"
    ? new ConflictError(CloudErrorCode.DEVICE_EXISTS, "a device with this serial number and model exists")
    : new ConflictError(CloudErrorCode.CONFLICT, "device id is taken");
}

/** Devices in SQL (MySQL / MariaDB or SQLite). */
export class SqlDeviceRepository implements DeviceRepository {
  constructor(
    private readonly db: SqlDb,
    private readonly dialect: Dialect,
  ) {}

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
    return this.db.run(async (db) => (key === undefined ? undefined : this.read(db, key)));
  }

  async findBySerial(serialNumber: string, model: string): Promise<Device | undefined> {
    return this.db.run(async (db) => {
      const row = await db.get(
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
      const row = await db.get(`SELECT ${CREDENTIAL_COLUMNS} FROM devices WHERE id = ?`, [key]);
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
      // -1 is no id at all (0 is a valid one): a malformed group id matches no group.
      params.push(parseId(query.groupId) ?? -1n);
    }
    if (query.label !== undefined) {
      if (query.label.value === undefined) {
        where.push(this.dialect.jsonHasKey("d.labels"));
        params.push(query.label.key);
      } else {
        where.push(this.dialect.jsonHasEntry("d.labels"));
        params.push(query.label.key, query.label.value);
      }
    }
    if (query.online !== undefined) {
      where.push("d.online = ?");
      params.push(query.online ? 1 : 0);
    }
    if (query.text) {
      const contains = (column: string) => `INSTR(${this.dialect.lower(`COALESCE(${column}, '')`)}, ?) > 0`;
      where.push(`(${["d.name", "d.description", "d.serial_number", "d.model"].map(contains).join(" OR ")})`);
      const needle = query.text.toLowerCase();
      params.push(needle, needle, needle, needle);
    }
    const sql =
      `SELECT ${DEVICE_COLUMNS} FROM devices d` +
      (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
      ` ORDER BY d.id${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) =>
      toPage((await db.all(sql, params)).map(deviceFromRow), limit, (d) => d.id),
    );
  }

  async update(id: string, patch: DevicePatch, now: number): Promise<Device | undefined> {
    const key = parseId(id);
    if (key === undefined) return this.db.run(async () => undefined);
    return this.db.tx(async (db) => {
      const current = await this.read(db, key, this.dialect.forUpdate);
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
      const row = await db.get(`SELECT ${CREDENTIAL_COLUMNS} FROM devices WHERE id = ?`, [key]);
      return row && credentialsFromRow(row).generation;
    });
  }

  async setPresence(id: string, presence: PresenceWrite): Promise<void> {
    const key = parseId(id);
    await this.db.run(async (db) => {
      if (key === undefined) return;
      // Null-safe: an ifConnectedAt of null matches a never-connected device.
      const guard =
        presence.ifConnectedAt !== undefined ? ` AND connected_at ${this.dialect.nullSafeEquals} ?` : "";
      const condition = presence.ifConnectedAt !== undefined ? [presence.ifConnectedAt] : [];
      const online = presence.online ? 1 : 0;
      if (presence.connectedAt === undefined) {
        await db.write(`UPDATE devices SET online = ?, last_seen_at = ? WHERE id = ?${guard}`, [
          online,
          presence.lastSeenAt,
          key,
          ...condition,
        ]);
      } else {
        await db.write(
          `UPDATE devices SET online = ?, connected_at = ?, last_seen_at = ? WHERE id = ?${guard}`,
          [online, presence.connectedAt, presence.lastSeenAt, key, ...condition],
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
      for (const chunk of chunks(sorted)) {
        // Only forward, so a late coarse refresh never moves lastSeen behind a presence write.
        await db.writeUncached(this.dialect.touchLastSeen(chunk.length), chunk.flat());
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

  /** One device; `lock` is the dialect's FOR UPDATE when the caller writes it next. */
  private async read(db: SqlRunner, key: bigint, lock = ""): Promise<Device | undefined> {
    const row = await db.get(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = ?${lock}`, [key]);
    return row && deviceFromRow(row);
  }
}
