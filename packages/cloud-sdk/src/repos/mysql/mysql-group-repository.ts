import { CloudErrorCode, ConflictError } from "../../errors.js";
import { parseId, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import { groupFromRow, id as idOf } from "../sql/rows.js";
import type { Group, GroupRepository, Page, PageQuery } from "../types.js";
import type { MysqlDb, MysqlRunner } from "./mysql-db.js";

const GROUP_COLUMNS = "id, name, description, created_at, updated_at";
const IN_CHUNK = 500;

/** A duplicate key on groups: a taken name (or a reused id). */
function groupDuplicate(key: string) {
  return new ConflictError(
    CloudErrorCode.CONFLICT,
    key === "uq_device_groups_name" ? "a group with this name exists" : "group id is taken",
  );
}

/** Groups and memberships in MySQL / MariaDB (memberships cascade with either side). */
export class MysqlGroupRepository implements GroupRepository {
  constructor(private readonly db: MysqlDb) {}

  async create(input: { id: string; name: string; description?: string; createdAt: number }): Promise<Group> {
    const id = requireId(input.id);
    const group: Group = {
      id: input.id,
      name: input.name,
      description: input.description ?? "",
      createdAt: input.createdAt,
      updatedAt: input.createdAt,
    };
    return this.db.run(async (db) => {
      await db.write(
        "INSERT INTO device_groups (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        [id, group.name, group.description, group.createdAt, group.updatedAt],
      );
      return group;
    }, groupDuplicate);
  }

  async get(id: string): Promise<Group | undefined> {
    const key = parseId(id);
    return this.db.run(async (db) => (key === undefined ? undefined : read(db, key)));
  }

  async list(query: PageQuery = {}): Promise<Page<Group>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    return this.db.run(async (db) => {
      const rows = await db.rows(
        `SELECT ${GROUP_COLUMNS} FROM device_groups WHERE id > ? ORDER BY id LIMIT ${limit + 1}`,
        [after ?? -1],
      );
      return toPage(rows.map(groupFromRow), limit, (g) => g.id);
    });
  }

  async update(
    id: string,
    patch: { name?: string; description?: string },
    now: number,
  ): Promise<Group | undefined> {
    const key = parseId(id);
    if (key === undefined) return this.db.run(async () => undefined);
    return this.db.tx(async (db) => {
      const current = await read(db, key, true);
      if (current === undefined) return undefined;
      const group: Group = {
        ...current,
        name: patch.name ?? current.name,
        description: patch.description ?? current.description,
        updatedAt: now,
      };
      await db.write("UPDATE device_groups SET name = ?, description = ?, updated_at = ? WHERE id = ?", [
        group.name,
        group.description,
        group.updatedAt,
        key,
      ]);
      return group;
    }, groupDuplicate);
  }

  async delete(id: string): Promise<boolean> {
    const key = parseId(id);
    return this.db.run(
      async (db) =>
        key !== undefined && (await db.write("DELETE FROM device_groups WHERE id = ?", [key])) > 0,
    );
  }

  async addDevice(groupId: string, deviceId: string): Promise<boolean> {
    const group = parseId(groupId);
    const device = parseId(deviceId);
    return this.db.run(async (db) => {
      if (group === undefined || device === undefined) return false;
      try {
        // A no-op update on duplicate keeps it idempotent without INSERT IGNORE, which would also swallow FK errors.
        await db.write(
          "INSERT INTO group_members (group_id, device_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE group_id = group_id",
          [group, device],
        );
        return true;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === "ER_NO_REFERENCED_ROW_2" || code === "ER_NO_REFERENCED_ROW") return false;
        throw err;
      }
    });
  }

  async removeDevice(groupId: string, deviceId: string): Promise<boolean> {
    const group = parseId(groupId);
    const device = parseId(deviceId);
    return this.db.run(
      async (db) =>
        group !== undefined &&
        device !== undefined &&
        (await db.write("DELETE FROM group_members WHERE group_id = ? AND device_id = ?", [group, device])) >
          0,
    );
  }

  async listDeviceIds(groupId: string, query: PageQuery = {}): Promise<Page<string>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const group = parseId(groupId);
    return this.db.run(async (db) => {
      if (group === undefined) return { items: [] };
      const rows = await db.rows(
        `SELECT device_id FROM group_members WHERE group_id = ? AND device_id > ? ORDER BY device_id LIMIT ${limit + 1}`,
        [group, after ?? -1],
      );
      return toPage(
        rows.map((r) => idOf(r.device_id)),
        limit,
        (id) => id,
      );
    });
  }

  async groupIdsOf(deviceIds: string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>(deviceIds.map((id) => [id, []]));
    const keys = [...result.keys()].map(parseId).filter((k): k is bigint => k !== undefined);
    return this.db.run(async (db) => {
      for (let i = 0; i < keys.length; i += IN_CHUNK) {
        const chunk = keys.slice(i, i + IN_CHUNK);
        const rows = await db.rowsText(
          `SELECT device_id, group_id FROM group_members WHERE device_id IN (${chunk.map(() => "?").join(", ")})
           ORDER BY device_id, group_id`,
          chunk,
        );
        for (const row of rows) result.get(idOf(row.device_id))?.push(idOf(row.group_id));
      }
      return result;
    });
  }
}

async function read(db: MysqlRunner, key: bigint, forUpdate = false): Promise<Group | undefined> {
  const [row] = await db.rows(
    `SELECT ${GROUP_COLUMNS} FROM device_groups WHERE id = ?${forUpdate ? " FOR UPDATE" : ""}`,
    [key],
  );
  return row && groupFromRow(row);
}
