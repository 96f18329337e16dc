import { CloudErrorCode, NotFoundError } from "../errors.js";
import type { Group, GroupRepository, Page, PageQuery } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";

export interface GroupServiceOptions {
  groups: GroupRepository;
  ids: IdGenerator;
  clock?: Clock;
  /** A device joined a group (continuous jobs watch this). */
  onJoined?: (groupId: string, deviceId: string) => void;
}

export interface NewGroupInput {
  name: string;
  description?: string;
}

const groupNotFound = () => new NotFoundError(CloudErrorCode.GROUP_NOT_FOUND, "no such group");

/**
 * Groups and many-to-many membership (a device may be in many groups). Every failure is a
 * CloudError with the code the REST API answers: group_not_found, device_not_found,
 * not_found (not a member), conflict (name taken), validation_failed (name too long).
 */
export class GroupService {
  private readonly clock: Clock;

  constructor(private readonly options: GroupServiceOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Creates a group; ConflictError when the name is taken. */
  create(input: NewGroupInput): Promise<Group> {
    return this.options.groups.create({
      id: this.options.ids(),
      name: input.name,
      description: input.description ?? "",
      createdAt: this.clock.now(),
    });
  }

  async get(id: string): Promise<Group> {
    const group = await this.options.groups.get(id);
    if (!group) throw groupNotFound();
    return group;
  }

  list(query: PageQuery = {}): Promise<Page<Group>> {
    return this.options.groups.list(query);
  }

  /** Renames or describes a group; ConflictError when the new name is taken. */
  async update(id: string, patch: { name?: string; description?: string }): Promise<Group> {
    const group = await this.options.groups.update(id, patch, this.clock.now());
    if (!group) throw groupNotFound();
    return group;
  }

  /** Deletes the group; its devices stay. */
  async delete(id: string): Promise<void> {
    if (!(await this.options.groups.delete(id))) throw groupNotFound();
  }

  /** Device ids of a group, ascending. */
  async listDevices(id: string, query: PageQuery = {}): Promise<Page<string>> {
    await this.get(id);
    return this.options.groups.listDeviceIds(id, query);
  }

  /** Adds a device to a group (idempotent). */
  async addDevice(id: string, deviceId: string): Promise<void> {
    await this.get(id);
    if (!(await this.options.groups.addDevice(id, deviceId))) {
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    }
    this.options.onJoined?.(id, deviceId);
  }

  /** Removes a device from a group; NotFoundError (not_found) when it was not a member. */
  async removeDevice(id: string, deviceId: string): Promise<void> {
    if (!(await this.options.groups.removeDevice(id, deviceId))) {
      throw new NotFoundError(CloudErrorCode.NOT_FOUND, "the device is not in this group");
    }
  }
}
