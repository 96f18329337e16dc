import { StoreUnavailableError } from "../../errors.js";
import type { Job, JobExecution } from "../../jobs/job-types.js";
import type {
  ApiToken,
  CommandRecord,
  Device,
  DeviceEvent,
  DeviceState,
  Group,
  StatusRecord,
} from "../types.js";

/** A device row as stored: the read shape plus what only auth may see. */
export interface StoredDevice {
  device: Device;
  secretHash: string;
  generation: number;
}

/**
 * Every table of the memory store in one place, so deleting a device can cascade the way
 * the SQL foreign keys do. Values are private copies: repositories clone on the way in and out.
 */
export class MemoryTables {
  closed = false;
  readonly devices = new Map<string, StoredDevice>();
  readonly groups = new Map<string, Group>();
  /** groupId → member device ids. */
  readonly members = new Map<string, Set<string>>();
  readonly commands = new Map<string, CommandRecord>();
  /** deviceId → its command ids, in creation order: listing a device's commands never scans them all. */
  readonly commandsByDevice = new Map<string, Set<string>>();
  /** deviceId → reports sorted by ts ascending, one per ts. */
  readonly statusHistory = new Map<string, StatusRecord[]>();
  readonly statusLatest = new Map<string, StatusRecord>();
  readonly states = new Map<string, DeviceState>();
  /** deviceId → (event id → event). */
  readonly events = new Map<string, Map<string, DeviceEvent>>();
  readonly tokens = new Map<string, ApiToken & { tokenHash: string }>();
  readonly jobs = new Map<string, Job>();
  /** jobId → (deviceId → execution). */
  readonly executions = new Map<string, Map<string, JobExecution>>();

  /** Every operation on a closed store fails the way a lost database connection would. */
  assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError(new Error("memory store is closed"));
  }

  /** Removes a device and everything that belongs to it (the SQL stores' ON DELETE CASCADE). */
  deleteDevice(id: string): boolean {
    if (!this.devices.delete(id)) return false;
    for (const members of this.members.values()) members.delete(id);
    for (const commandId of this.commandsByDevice.get(id) ?? []) this.commands.delete(commandId);
    this.commandsByDevice.delete(id);
    this.statusHistory.delete(id);
    this.statusLatest.delete(id);
    this.states.delete(id);
    this.events.delete(id);
    for (const executions of this.executions.values()) executions.delete(id);
    return true;
  }
}
