import { CloudErrorCode, ConflictError } from "../../errors.js";
import { checkGroupPatch, groupFromNew } from "../group-model.js";
import { parseId, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import type { Group, GroupRepository, Page, PageQuery } from "../types.js";
import { chunks, placeholders } from "./batches.js";
import type { Dialect } from "./dialect.js";
import { groupFromRow, id as idOf, type SqlParam } from "./rows.js";
import type { DuplicateKey, SqlDb, SqlRunner } from "./sql-db.js";

const GROUP_COLUMNS = "id, name, description, created_at, updated_at";

/** A duplicate key on groups: the name index means a taken name, the primary key a reused id. */
function groupDuplicate(key: DuplicateKey) {
  return new ConflictError(
    CloudErrorCode.CONFLICT,
    key === "unique" ? "a group with this name exists" : "group id is taken",
  );
}

/** Groups and memberships in SQL (memberships cascade with either side). */
export class SqlGroupRepository implements GroupRepository {
  constructor(
    private readonly db: SqlDb,
    private readonly dialect: Dialect,
  ) {}

  async create(input: { id: string; name: string; description?: string; createdAt: number }): Promise<Group> {
    const id = requireId(input.id);
    const group = groupFromNew(input);
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
    return this.db.run(async (db) => (key === undefined ? undefined : this.read(db, key)));
  }

  async list(query: PageQuery = {}): Promise<Page<Group>> {
    const limit = pageLimit(query.limit);
    const params: SqlParam[] = [afterId(query.after) ?? -1];
    const sql = `SELECT ${GROUP_COLUMNS} FROM device_groups WHERE id > ? ORDER BY id${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) =>
      toPage((await db.all(sql, params)).map(groupFromRow), limit, (g) => g.id),
    );
  }

  async update(
    id: string,
    patch: { name?: string; description?: string },
    now: number,
  ): Promise<Group | undefined> {
    checkGroupPatch(patch);
    const key = parseId(id);
    if (key === undefined) return this.db.run(async () => undefined);
    return this.db.tx(async (db) => {
      const current = await this.read(db, key, this.dialect.forUpdate);
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
        // An existing membership is skipped (idempotent); a missing group or device fails its foreign key.
        await db.write(
          `INSERT INTO group_members (group_id, device_id) VALUES (?, ?) ${this.dialect.ignoreDuplicate("group_id")}`,
          [group, device],
        );
        return true;
      } catch (err) {
        if (this.dialect.isMissingParent(err)) return false;
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
    const group = parseId(groupId);
    const params: SqlParam[] = [group ?? -1, afterId(query.after) ?? -1];
    const sql = `SELECT device_id FROM group_members WHERE group_id = ? AND device_id > ? ORDER BY device_id${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) => {
      if (group === undefined) return { items: [] };
      const rows = await db.all(sql, params);
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
      for (const chunk of chunks(keys)) {
        const rows = await db.allUncached(
          `SELECT device_id, group_id FROM group_members WHERE device_id IN (${placeholders(chunk.length)})
           ORDER BY device_id, group_id`,
          chunk,
        );
        for (const row of rows) result.get(idOf(row.device_id))?.push(idOf(row.group_id));
      }
      return result;
    });
  }

  /** One group; `lock` is the dialect's FOR UPDATE when the caller writes it next. */
  private async read(db: SqlRunner, key: bigint, lock = ""): Promise<Group | undefined> {
    const row = await db.get(`SELECT ${GROUP_COLUMNS} FROM device_groups WHERE id = ?${lock}`, [key]);
    return row && groupFromRow(row);
  }
}
