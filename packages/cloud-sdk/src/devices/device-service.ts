import { CloseCode } from "@cloudedge/protocol";
import { generateSecret, hashSecret, MIN_SECRET_LENGTH } from "../auth/secrets.js";
import type { ClusterBus } from "../cluster/cluster-bus.js";
import { CloudErrorCode, NotFoundError, ValidationError } from "../errors.js";
import type { PresenceReason } from "../events.js";
import type {
  Device,
  DevicePatch,
  DeviceQuery,
  Hardware,
  Page,
  Software,
  StatusRecord,
  Store,
} from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";
import { RecentPresence } from "./recent-presence.js";

export interface RegisterDeviceInput {
  name: string;
  type?: string;
  description?: string;
  labels?: Record<string, string>;
  hardware?: Partial<Hardware>;
  software?: Software;
  /** A factory-provisioned secret (≥16 characters); generated when absent. */
  secret?: string;
}

/** A device as the API shows it: presence as the whole cluster knows it, and its groups. */
export type DeviceView = Device & { groupIds: string[] };

/** One device read in full: its view and its latest status report (null before the first). */
export type DeviceDetail = DeviceView & { status: StatusRecord | null };

export interface DeviceServiceOptions {
  store: Store;
  bus: ClusterBus;
  ids: IdGenerator;
  clock?: Clock;
  /** bcrypt cost. Default 10. */
  bcryptCost?: number;
  /** The latest status report (StatusIngest.latest), for `view`. */
  latestStatus?: (deviceId: string) => Promise<StatusRecord | undefined>;
  /** Whether this node's hub holds a session for the device (online whatever else says). */
  heldHere?: (deviceId: string) => boolean;
  /** How many devices' latest presence events are remembered. Default 4,096. */
  recentPresence?: number;
  /** Appends to the device's event log. */
  log?: (
    deviceId: string,
    kind: "registered" | "updated" | "secret_rotated",
    data?: Record<string, unknown>,
  ) => void;
}

/**
 * Device lifecycle: registration (secret shown once, stored as a bcrypt hash), reads,
 * updates, secret rotation and deletion. Anything that revokes credentials bumps the
 * generation (so resume tokens die) and closes a live session wherever it is. Reads show
 * presence cluster-wide: online when this node holds a session, else what the presence
 * events of any node said lately, else the persisted flag (written a moment after them).
 */
export class DeviceService {
  private readonly clock: Clock;
  private readonly presence: RecentPresence;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: DeviceServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.presence = new RecentPresence(this.clock, options.recentPresence);
    this.unsubscribe = options.bus.subscribe((event) => this.presence.observe(event));
  }

  /** Registers a device; the returned secret is the only time it is ever shown. */
  async register(input: RegisterDeviceInput): Promise<{ device: DeviceView; secret: string }> {
    if (
      input.secret !== undefined &&
      (input.secret.length < MIN_SECRET_LENGTH || input.secret.length > 256)
    ) {
      throw new ValidationError("invalid device", [
        { path: "/secret", message: `must be ${MIN_SECRET_LENGTH} to 256 characters` },
      ]);
    }
    const secret = input.secret ?? generateSecret();
    const secretHash = await hashSecret(secret, this.options.bcryptCost ?? 10);
    const device = await this.options.store.devices.create({
      id: this.options.ids(),
      name: input.name,
      ...(input.type !== undefined ? { type: input.type } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.labels !== undefined ? { labels: input.labels } : {}),
      ...(input.hardware !== undefined ? { hardware: input.hardware } : {}),
      ...(input.software !== undefined ? { software: input.software } : {}),
      secretHash,
      createdAt: this.clock.now(),
    });
    this.options.log?.(device.id, "registered");
    // A device this new is in no group and has never connected: nothing to look up.
    return { device: { ...device, groupIds: [] }, secret };
  }

  /** The device as stored (persisted presence, no groups). */
  async get(id: string): Promise<Device> {
    const device = await this.options.store.devices.get(id);
    if (!device) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    return device;
  }

  /** The device with cluster-wide presence, its groups and its latest status. */
  async view(id: string): Promise<DeviceDetail> {
    const device = await this.get(id);
    const [view, status] = await Promise.all([this.presentOne(device), this.options.latestStatus?.(id)]);
    return { ...view, status: status ?? null };
  }

  /**
   * A page of devices (filters on the persisted presence, see DeviceQuery), each with
   * cluster-wide presence and its groups.
   */
  async list(query: DeviceQuery = {}): Promise<Page<DeviceView>> {
    const page = await this.options.store.devices.list(query);
    return {
      items: await this.present(page.items),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  }

  /** Updates fields; disabling closes the live session (DEVICE_DISABLED) and kills tokens. */
  async update(id: string, patch: DevicePatch): Promise<DeviceView> {
    const before = await this.get(id);
    const device = await this.options.store.devices.update(id, patch, this.clock.now());
    if (!device) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    this.options.log?.(id, "updated", { fields: Object.keys(patch) });
    if (device.disabled && !before.disabled)
      await this.disconnect(id, CloseCode.DEVICE_DISABLED, "auth_revoked");
    return this.presentOne(device);
  }

  /** New secret, shown once; the old secret, its tokens and the live session stop working. */
  async rotateSecret(id: string, secret?: string): Promise<{ device: Device; secret: string }> {
    if (secret !== undefined && (secret.length < MIN_SECRET_LENGTH || secret.length > 256)) {
      throw new ValidationError("invalid secret", [
        { path: "/secret", message: `must be ${MIN_SECRET_LENGTH} to 256 characters` },
      ]);
    }
    const next = secret ?? generateSecret();
    const hash = await hashSecret(next, this.options.bcryptCost ?? 10);
    const generation = await this.options.store.devices.setSecret(id, hash, this.clock.now());
    if (generation === undefined) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    this.options.log?.(id, "secret_rotated");
    await this.disconnect(id, CloseCode.AUTH_REVOKED, "auth_revoked");
    return { device: await this.get(id), secret: next };
  }

  /**
   * Deletes the device (and what belongs to it), closes its session and tells every node
   * (`device_deleted`), so none keeps serving what it remembers of it (its latest status).
   */
  async delete(id: string): Promise<void> {
    if (!(await this.options.store.devices.delete(id))) {
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    }
    await this.disconnect(id, CloseCode.AUTH_REVOKED, "auth_revoked");
    await this.options.bus.publish({ type: "device_deleted", deviceId: id, at: this.clock.now() });
  }

  /** Stops following the cluster's presence events. */
  close(): void {
    this.unsubscribe();
  }

  private async presentOne(device: Device): Promise<DeviceView> {
    return (await this.present([device]))[0] as DeviceView;
  }

  /** Persisted fields, presence as the cluster's events say, group ids; key order as stored. */
  private async present(devices: Device[]): Promise<DeviceView[]> {
    const groups = await this.options.store.groups.groupIdsOf(devices.map((d) => d.id));
    return devices.map((device) => ({
      ...device,
      online: this.options.heldHere?.(device.id) || this.presence.online(device.id, device.online),
      groupIds: groups.get(device.id) ?? [],
    }));
  }

  private async disconnect(deviceId: string, closeCode: number, reason: PresenceReason): Promise<void> {
    await this.options.bus
      .request(deviceId, { kind: "disconnect", closeCode, reason })
      .catch(() => undefined);
  }
}
