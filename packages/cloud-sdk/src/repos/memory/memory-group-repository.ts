import { CloudErrorCode, ConflictError } from "../../errors.js";
import { checkGroupPatch, groupFromNew } from "../group-model.js";
import { compareIds, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import type { Group, GroupRepository, Page, PageQuery } from "../types.js";
import type { MemoryTables } from "./memory-tables.js";

/** Groups and memberships; group names are unique (exact, case-sensitive match). */
export class MemoryGroupRepository implements GroupRepository {
  constructor(private readonly t: MemoryTables) {}

  async create(input: { id: string; name: string; description?: string; createdAt: number }): Promise<Group> {
    this.t.assertOpen();
    requireId(input.id);
    if (this.t.groups.has(input.id)) throw new ConflictError(CloudErrorCode.CONFLICT, "group id is taken");
    this.assertNameFree(input.name, undefined);
    const group = groupFromNew(input);
    this.t.groups.set(group.id, group);
    this.t.members.set(group.id, new Set());
    return { ...group };
  }

  async get(id: string): Promise<Group | undefined> {
    this.t.assertOpen();
    const group = this.t.groups.get(id);
    return group && { ...group };
  }

  async list(query: PageQuery = {}): Promise<Page<Group>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const groups = [...this.t.groups.values()]
      .filter((g) => after === undefined || BigInt(g.id) > after)
      .sort((a, b) => compareIds(a.id, b.id))
      .slice(0, limit + 1)
      .map((g) => ({ ...g }));
    return toPage(groups, limit, (g) => g.id);
  }

  async update(
    id: string,
    patch: { name?: string; description?: string },
    now: number,
  ): Promise<Group | undefined> {
    checkGroupPatch(patch);
    this.t.assertOpen();
    const group = this.t.groups.get(id);
    if (!group) return undefined;
    if (patch.name !== undefined) this.assertNameFree(patch.name, id);
    group.name = patch.name ?? group.name;
    group.description = patch.description ?? group.description;
    group.updatedAt = now;
    return { ...group };
  }

  async delete(id: string): Promise<boolean> {
    this.t.assertOpen();
    this.t.members.delete(id);
    return this.t.groups.delete(id);
  }

  async addDevice(groupId: string, deviceId: string): Promise<boolean> {
    this.t.assertOpen();
    const members = this.t.members.get(groupId);
    if (!members || !this.t.devices.has(deviceId)) return false;
    members.add(deviceId);
    return true;
  }

  async removeDevice(groupId: string, deviceId: string): Promise<boolean> {
    this.t.assertOpen();
    return this.t.members.get(groupId)?.delete(deviceId) ?? false;
  }

  async listDeviceIds(groupId: string, query: PageQuery = {}): Promise<Page<string>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const ids = [...(this.t.members.get(groupId) ?? [])]
      .filter((id) => after === undefined || BigInt(id) > after)
      .sort(compareIds)
      .slice(0, limit + 1);
    return toPage(ids, limit, (id) => id);
  }

  async groupIdsOf(deviceIds: string[]): Promise<Map<string, string[]>> {
    this.t.assertOpen();
    const result = new Map<string, string[]>(deviceIds.map((id) => [id, []]));
    for (const [groupId, members] of this.t.members) {
      for (const [deviceId, ids] of result) {
        if (members.has(deviceId)) ids.push(groupId);
      }
    }
    for (const ids of result.values()) ids.sort(compareIds);
    return result;
  }

  private assertNameFree(name: string, self: string | undefined): void {
    for (const group of this.t.groups.values()) {
      if (group.name === name && group.id !== self) {
        throw new ConflictError(CloudErrorCode.CONFLICT, "a group with this name exists");
      }
    }
  }
}
