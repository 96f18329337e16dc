import { CloudErrorCode, ConflictError } from "../../errors.js";
import { applyDevicePatch, deviceFromNew, INITIAL_GENERATION } from "../device-model.js";
import { compareIds, requireId } from "../ids.js";
import { jsonClone } from "../json.js";
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
import type { MemoryTables } from "./memory-tables.js";

/** Devices held in a Map; list sorts by numeric id on every call (fine for tests and small fleets). */
export class MemoryDeviceRepository implements DeviceRepository {
  constructor(private readonly t: MemoryTables) {}

  async create(input: NewDevice): Promise<Device> {
    this.t.assertOpen();
    requireId(input.id);
    const device = deviceFromNew(input);
    if (this.t.devices.has(device.id)) throw new ConflictError(CloudErrorCode.CONFLICT, "device id is taken");
    this.assertIdentityFree(device, undefined);
    this.t.devices.set(device.id, { device, secretHash: input.secretHash, generation: INITIAL_GENERATION });
    return jsonClone(device);
  }

  async get(id: string): Promise<Device | undefined> {
    this.t.assertOpen();
    const row = this.t.devices.get(id);
    return row && jsonClone(row.device);
  }

  async findBySerial(serialNumber: string, model: string): Promise<Device | undefined> {
    this.t.assertOpen();
    const row = this.findIdentity(serialNumber, model);
    return row && jsonClone(row.device);
  }

  async getCredentials(id: string): Promise<DeviceCredentials | undefined> {
    this.t.assertOpen();
    const row = this.t.devices.get(id);
    if (!row) return undefined;
    return {
      deviceId: id,
      secretHash: row.secretHash,
      generation: row.generation,
      disabled: row.device.disabled,
    };
  }

  async list(query: DeviceQuery = {}): Promise<Page<Device>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const members =
      query.groupId === undefined ? undefined : (this.t.members.get(query.groupId) ?? new Set());
    const text = query.text ? query.text.toLowerCase() : undefined;
    const matches = [...this.t.devices.values()]
      .map((row) => row.device)
      .filter((d) => after === undefined || BigInt(d.id) > after)
      .filter((d) => members === undefined || members.has(d.id))
      .filter((d) => query.online === undefined || d.online === query.online)
      .filter((d) => query.label === undefined || hasLabel(d, query.label.key, query.label.value))
      .filter((d) => text === undefined || matchesText(d, text))
      .sort((a, b) => compareIds(a.id, b.id));
    return toPage(
      matches.slice(0, limit + 1).map((d) => jsonClone(d)),
      limit,
      (d) => d.id,
    );
  }

  async update(id: string, patch: DevicePatch, now: number): Promise<Device | undefined> {
    this.t.assertOpen();
    const row = this.t.devices.get(id);
    if (!row) return undefined;
    const { device, bumpGeneration } = applyDevicePatch(row.device, patch, now);
    this.assertIdentityFree(device, id);
    row.device = device;
    if (bumpGeneration) row.generation += 1;
    return jsonClone(device);
  }

  async setSecret(id: string, secretHash: string, now: number): Promise<number | undefined> {
    this.t.assertOpen();
    const row = this.t.devices.get(id);
    if (!row) return undefined;
    row.secretHash = secretHash;
    row.generation += 1;
    row.device.updatedAt = now;
    return row.generation;
  }

  async setPresence(id: string, presence: PresenceWrite): Promise<void> {
    this.t.assertOpen();
    const row = this.t.devices.get(id);
    if (!row) return;
    if (presence.ifConnectedAt !== undefined && row.device.connectedAt !== presence.ifConnectedAt) return;
    row.device.online = presence.online;
    if (presence.connectedAt !== undefined) row.device.connectedAt = presence.connectedAt;
    row.device.lastSeenAt = presence.lastSeenAt;
  }

  async touchLastSeen(entries: Array<{ id: string; lastSeenAt: number }>): Promise<void> {
    this.t.assertOpen();
    for (const entry of entries) {
      const device = this.t.devices.get(entry.id)?.device;
      if (device && (device.lastSeenAt === null || device.lastSeenAt < entry.lastSeenAt)) {
        device.lastSeenAt = entry.lastSeenAt;
      }
    }
  }

  async markAllOffline(now: number): Promise<number> {
    this.t.assertOpen();
    let count = 0;
    for (const { device } of this.t.devices.values()) {
      if (!device.online) continue;
      device.online = false;
      device.lastSeenAt ??= now;
      count += 1;
    }
    return count;
  }

  async delete(id: string): Promise<boolean> {
    this.t.assertOpen();
    return this.t.deleteDevice(id);
  }

  private findIdentity(serialNumber: string, model: string) {
    if (!serialNumber || !model) return undefined;
    for (const row of this.t.devices.values()) {
      const hw = row.device.hardware;
      if (hw.serialNumber === serialNumber && hw.model === model) return row;
    }
    return undefined;
  }

  private assertIdentityFree(device: Device, self: string | undefined): void {
    const { serialNumber, model } = device.hardware;
    if (serialNumber === undefined || model === undefined) return;
    const other = this.findIdentity(serialNumber, model);
    if (other && other.device.id !== self) {
      throw new ConflictError(
        CloudErrorCode.DEVICE_EXISTS,
        "a device with this serial number and model exists",
      );
    }
  }
}

function hasLabel(device: Device, key: string, value: string | undefined): boolean {
  if (!Object.hasOwn(device.labels, key)) return false;
  return value === undefined || device.labels[key] === value;
}

function matchesText(device: Device, needle: string): boolean {
  return [device.name, device.description, device.hardware.serialNumber, device.hardware.model].some(
    (field) => field?.toLowerCase().includes(needle) ?? false,
  );
}
