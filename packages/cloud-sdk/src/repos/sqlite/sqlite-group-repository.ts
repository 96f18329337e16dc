import { CloudErrorCode, ConflictError } from "../../errors.js";
import { parseId, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import { groupFromRow, id as idOf } from "../sql/rows.js";
import type { Group, GroupRepository, Page, PageQuery } from "../types.js";
import type { SqliteDb } from "./sqlite-db.js";

const GROUP_COLUMNS = "id, name, description, created_at, updated_at";

/** A UNIQUE violation on groups: a taken name (or a reused id). */
function groupDuplicate(constraint: string) {
  return new ConflictError(
    CloudErrorCode.CONFLICT,
    constraint.includes("name") ? "a group with this name exists" : "group id is taken",
  );
}

/** Groups and memberships in SQLite (memberships cascade with either side). */
export class SqliteGroupRepository implements GroupRepository {
  constructor(private readonly db: SqliteDb) {}

  async create(input: { id: string; name: string; description?: string; createdAt: number }): Promise<Group> {
    const id = requireId(input.id);
    const group: Group = {
      id: input.id,
      name: input.name,
      description: input.description ?? "",
      createdAt: input.createdAt,
      updatedAt: input.createdAt,
    };
    return this.db.run(() => {
      this.db.write(
        "INSERT INTO device_groups (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        id,
        group.name,
        group.description,
        group.createdAt,
        group.updatedAt,
      );
      return group;
    }, groupDuplicate);
  }

  async get(id: string): Promise<Group | undefined> {
    const key = parseId(id);
    return this.db.run(() => (key === undefined ? undefined : this.read(key)));
  }

  async list(query: PageQuery = {}): Promise<Page<Group>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    return this.db.run(() => {
      const rows =
        after === undefined
          ? this.db.all(`SELECT ${GROUP_COLUMNS} FROM device_groups ORDER BY id LIMIT ?`, limit + 1)
          : this.db.all(
              `SELECT ${GROUP_COLUMNS} FROM device_groups WHERE id > ? ORDER BY id LIMIT ?`,
              after,
              limit + 1,
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
    return this.db.tx(() => {
      if (key === undefined) return undefined;
      const current = this.read(key);
      if (current === undefined) return undefined;
      const group: Group = {
        ...current,
        name: patch.name ?? current.name,
        description: patch.description ?? current.description,
        updatedAt: now,
      };
      this.db.write(
        "UPDATE device_groups SET name = ?, description = ?, updated_at = ? WHERE id = ?",
        group.name,
        group.description,
        group.updatedAt,
        key,
      );
      return group;
    }, groupDuplicate);
  }

  async delete(id: string): Promise<boolean> {
    const key = parseId(id);
    return this.db.run(
      () => key !== undefined && this.db.write("DELETE FROM device_groups WHERE id = ?", key) > 0,
    );
  }

  async addDevice(groupId: string, deviceId: string): Promise<boolean> {
    const group = parseId(groupId);
    const device = parseId(deviceId);
    return this.db.tx(() => {
      if (group === undefined || device === undefined) return false;
      const exists = this.db.get(
        "SELECT (SELECT count(*) FROM device_groups WHERE id = ?) AS g, (SELECT count(*) FROM devices WHERE id = ?) AS d",
        group,
        device,
      );
      if (!exists || Number(exists.g) === 0 || Number(exists.d) === 0) return false;
      this.db.write(
        "INSERT INTO group_members (group_id, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        group,
        device,
      );
      return true;
    });
  }

  async removeDevice(groupId: string, deviceId: string): Promise<boolean> {
    const group = parseId(groupId);
    const device = parseId(deviceId);
    return this.db.run(
      () =>
        group !== undefined &&
        device !== undefined &&
        this.db.write("DELETE FROM group_members WHERE group_id = ? AND device_id = ?", group, device) > 0,
    );
  }

  async listDeviceIds(groupId: string, query: PageQuery = {}): Promise<Page<string>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const group = parseId(groupId);
    return this.db.run(() => {
      if (group === undefined) return { items: [] };
      const rows = this.db.all(
        "SELECT device_id FROM group_members WHERE group_id = ? AND device_id > ? ORDER BY device_id LIMIT ?",
        group,
        after ?? -1,
        limit + 1,
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
    const keys = [...result.keys()].filter((id) => parseId(id) !== undefined);
    return this.db.run(() => {
      if (keys.length === 0) return result;
      // One statement for any number of ids: the list travels as a JSON array of decimal strings.
      const rows = this.db.all(
        `SELECT device_id, group_id FROM group_members
         WHERE device_id IN (SELECT CAST(value AS INTEGER) FROM json_each(?))
         ORDER BY device_id, group_id`,
        JSON.stringify(keys),
      );
      for (const row of rows) result.get(idOf(row.device_id))?.push(idOf(row.group_id));
      return result;
    });
  }

  private read(key: bigint): Group | undefined {
    const row = this.db.get(`SELECT ${GROUP_COLUMNS} FROM device_groups WHERE id = ?`, key);
    return row && groupFromRow(row);
  }
}
