import type { CommandStatus, JsonObject } from "@cloudedge/protocol";
import type { JobRepository } from "../jobs/job-types.js";

/**
 * Repository interfaces, one per aggregate (docs/architecture.md). Each has a memory, a
 * SQLite and a MySQL implementation, all run against ONE contract suite
 * (test/repos/contract/*.contract.ts). Ids are Snowflakes as decimal strings; SQL stores them as
 * 64-bit integers and never loses precision. Times are epoch milliseconds. Creating a record
 * with an id that is not a canonical decimal integer throws ValidationError; looking one up
 * finds nothing. Any driver failure surfaces as StoreUnavailableError.
 */

/** A page of results; pass `nextCursor` as `after` to get the next one. Absent on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface PageQuery {
  /** Opaque cursor from a previous page. */
  after?: string;
  /** 1..1000, default 100. */
  limit?: number;
}

export interface Nic {
  type?: string;
  name?: string;
  mac?: string;
  ipv4?: string;
}

export interface Hardware {
  serialNumber?: string;
  model?: string;
  nics: Nic[];
}

export interface Software {
  version?: string;
  lastUpdate?: number;
}

/** A device as every read path returns it: never with its secret hash. */
export interface Device {
  id: string;
  name: string;
  type: string;
  description: string;
  /** Key/value labels, e.g. {site: "berlin", role: "gateway"}. */
  labels: Record<string, string>;
  disabled: boolean;
  hardware: Hardware;
  software: Software;
  /** Persisted presence (coarse: written on connect/disconnect and every few minutes). */
  online: boolean;
  connectedAt: number | null;
  lastSeenAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewDevice {
  id: string;
  name: string;
  type?: string;
  description?: string;
  labels?: Record<string, string>;
  disabled?: boolean;
  hardware?: Partial<Hardware>;
  software?: Software;
  /** bcrypt hash of the device secret. */
  secretHash: string;
  createdAt: number;
}

export interface DevicePatch {
  name?: string;
  type?: string;
  description?: string;
  labels?: Record<string, string>;
  disabled?: boolean;
  hardware?: Partial<Hardware>;
  software?: Software;
}

/** What authentication needs; only the auth module reads it. */
export interface DeviceCredentials {
  deviceId: string;
  secretHash: string;
  /** Bumped by secret rotation, disabling and deletion: resume tokens carry it. */
  generation: number;
  disabled: boolean;
}

export interface DeviceQuery extends PageQuery {
  /** Only members of this group. */
  groupId?: string;
  /** Only devices with this label key (and value, when given). */
  label?: { key: string; value?: string };
  /** Only devices whose persisted presence is this. */
  online?: boolean;
  /** Case-insensitive substring of name, description, serial number or model. */
  text?: string;
}

export interface PresenceWrite {
  online: boolean;
  /** Omitted: kept; null: cleared. */
  connectedAt?: number | null;
  lastSeenAt: number;
  /** Apply only when the stored connectedAt equals this (null matches null). */
  ifConnectedAt?: number | null;
}

export interface DeviceRepository {
  /**
   * Throws ConflictError(device_exists) when the (serialNumber, model) pair is taken (only when
   * both are set; an empty string counts as absent), ConflictError(conflict) for a reused id.
   */
  create(device: NewDevice): Promise<Device>;
  get(id: string): Promise<Device | undefined>;
  findBySerial(serialNumber: string, model: string): Promise<Device | undefined>;
  getCredentials(id: string): Promise<DeviceCredentials | undefined>;
  /** Ordered by id ascending (registration order). */
  list(query?: DeviceQuery): Promise<Page<Device>>;
  /** Returns the updated device, or undefined when it does not exist. Disabling bumps the generation. */
  update(id: string, patch: DevicePatch, now: number): Promise<Device | undefined>;
  /** Replaces the secret hash and bumps the generation; returns the new generation, undefined if absent. */
  setSecret(id: string, secretHash: string, now: number): Promise<number | undefined>;
  /**
   * Persists presence for one device (connect, disconnect). With `ifConnectedAt`, only while
   * the stored connectedAt is that value: the offline write of a session never overwrites a
   * newer session's online (in a cluster the device may be back on another node first).
   */
  setPresence(id: string, presence: PresenceWrite): Promise<void>;
  /** Coarse lastSeen refresh for many devices in one write. */
  touchLastSeen(entries: Array<{ id: string; lastSeenAt: number }>): Promise<void>;
  /** At hub start-up: everyone persisted online is offline now (lastSeenAt kept, or `now` if never set). Returns how many were. */
  markAllOffline(now: number): Promise<number>;
  /** Deletes the device with its memberships, state, status, events and commands; true when it existed. */
  delete(id: string): Promise<boolean>;
}

export interface Group {
  id: string;
  name: string;
  description: string;
  createdAt: number;
  updatedAt: number;
}

export interface GroupRepository {
  /** Throws ConflictError when the name is taken. */
  create(group: { id: string; name: string; description?: string; createdAt: number }): Promise<Group>;
  get(id: string): Promise<Group | undefined>;
  list(query?: PageQuery): Promise<Page<Group>>;
  update(id: string, patch: { name?: string; description?: string }, now: number): Promise<Group | undefined>;
  delete(id: string): Promise<boolean>;
  /** Idempotent; false when the group or the device does not exist. */
  addDevice(groupId: string, deviceId: string): Promise<boolean>;
  /** True when the membership existed. */
  removeDevice(groupId: string, deviceId: string): Promise<boolean>;
  /** Device ids of a group, ascending. */
  listDeviceIds(groupId: string, query?: PageQuery): Promise<Page<string>>;
  /** Group ids of each given device (devices without groups map to []). */
  groupIdsOf(deviceIds: string[]): Promise<Map<string, string[]>>;
}

export interface CommandError {
  code: string;
  message: string;
  details?: unknown;
}

export interface CommandRecord {
  id: string;
  deviceId: string;
  method: string;
  params: unknown;
  status: CommandStatus;
  /** The device's result data when SUCCEEDED. */
  result: unknown;
  error: CommandError | null;
  /** How long the device has to answer once the command is sent. */
  timeoutMs: number;
  /** When a QUEUED command expires (createdAt + ttlMs); null = no queueing (fails when offline). */
  expiresAt: number | null;
  /** Hub time by which a result must arrive; set when first sent. */
  deadline: number | null;
  /** How many times the command was written to a socket. */
  attempts: number;
  /**
   * Hub time the device first acknowledged the command, on any attempt; null while it never
   * has. A requeue keeps it: it decides `result_timeout` over `delivery_timeout` (§6.1).
   */
  acknowledgedAt: number | null;
  /** The group of a fan-out, if it came from one. */
  groupId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface CommandQuery extends PageQuery {
  status?: CommandStatus[];
}

/** A device's non-terminal commands: how many, and the bytes of their params. */
export interface CommandLoad {
  count: number;
  bytes: number;
}

export interface CommandRepository {
  /** Throws NotFoundError(device_not_found) for an unknown device, ConflictError(conflict) for a reused id. */
  create(command: CommandRecord): Promise<void>;
  get(id: string): Promise<CommandRecord | undefined>;
  /**
   * Compare-and-set: applies the patch only while the stored status is `expected`.
   * Returns the updated record, or undefined when the status had moved on (or no such id).
   *
   * `basis`, the record as the caller read it (in status `expected`), makes the check
   * exact: the stored command must still be that version (same `attempts` and `updatedAt`),
   * so one that left `expected` and came back meanwhile is not overwritten with a patch
   * computed from the old version. With it, a store may also answer `basis` + patch without
   * reading the row back (one statement on MySQL instead of a transaction of four).
   */
  transition(
    id: string,
    expected: CommandStatus,
    patch: Partial<Omit<CommandRecord, "id" | "deviceId" | "createdAt">> & { updatedAt: number },
    basis?: CommandRecord,
  ): Promise<CommandRecord | undefined>;
  /** Newest first. */
  listByDevice(deviceId: string, query?: CommandQuery): Promise<Page<CommandRecord>>;
  /** QUEUED commands of a device, oldest first (delivery order). */
  listQueued(deviceId: string): Promise<CommandRecord[]>;
  /**
   * How many commands of a device are in an ACTIVE_COMMAND_STATUSES status, and the bytes
   * of their params as stored (JSON text) — the per-device queue quota reads it.
   */
  activeLoad(deviceId: string): Promise<CommandLoad>;
  /** Every command in an ACTIVE_COMMAND_STATUSES status (restart recovery, expiry sweeps), oldest first. */
  listNonTerminal(): Promise<CommandRecord[]>;
  /** Retention: deletes TERMINAL_COMMAND_STATUSES commands last updated before `before`; returns how many. */
  deleteFinishedBefore(before: number): Promise<number>;
}

export interface StatusRecord {
  deviceId: string;
  /** When the device took the snapshot (outbox reports keep theirs). */
  ts: number;
  /** When the hub received it. */
  receivedAt: number;
  data: Record<string, unknown>;
}

export interface StatusHistoryQuery {
  from?: number;
  to?: number;
  /** 1..10000, default 1000. */
  limit?: number;
  /** Default "desc" (newest first). */
  order?: "asc" | "desc";
}

/** What status retention deletes; each bound is optional. */
export interface StatusPrunePolicy {
  now: number;
  /** Rows with a ts older than now - maxAgeMs. */
  maxAgeMs?: number;
  /** Rows beyond the newest N per device. */
  maxRowsPerDevice?: number;
  /** The oldest rows of a device whose data (JSON text) adds up to more than this, newest counted first. */
  maxBytesPerDevice?: number;
  /** Only this device's rows (the per-device byte quota prunes one device as it fills up). */
  deviceId?: string;
}

export interface StatusRepository {
  /**
   * One write for many reports (write-behind). Latest per device keeps the greatest ts. A second
   * report with the same (deviceId, ts) is a replay and is dropped; so are reports of unknown devices.
   */
  insertBatch(records: StatusRecord[]): Promise<void>;
  latest(deviceId: string): Promise<StatusRecord | undefined>;
  history(deviceId: string, query?: StatusHistoryQuery): Promise<StatusRecord[]>;
  /** Retention: drops rows older than maxAgeMs and beyond maxRowsPerDevice (newest kept). Returns rows deleted. */
  prune(policy: StatusPrunePolicy): Promise<number>;
}

export interface DeviceState {
  deviceId: string;
  desired: JsonObject;
  desiredVersion: number;
  reported: JsonObject;
  reportedVersion: number;
  updatedAt: number;
}

export interface StateRepository {
  /** A device without stored state has empty documents at version 0. */
  get(deviceId: string): Promise<DeviceState>;
  /** Compare-and-set on the desired version; false when it was not `expectedVersion`. NotFoundError for an unknown device. */
  setDesired(
    deviceId: string,
    doc: JsonObject,
    version: number,
    expectedVersion: number,
    now: number,
  ): Promise<boolean>;
  /** Compare-and-set on the reported version; false when it was not `expectedVersion`. NotFoundError for an unknown device. */
  setReported(
    deviceId: string,
    doc: JsonObject,
    version: number,
    expectedVersion: number,
    now: number,
  ): Promise<boolean>;
  delete(deviceId: string): Promise<void>;
}

export type DeviceEventKind =
  | "registered"
  | "updated"
  | "secret_rotated"
  | "connected"
  | "disconnected"
  | "auth_failed"
  | "command"
  | "state";

export interface DeviceEvent {
  /** Snowflake; ascending ids are chronological. */
  id: string;
  deviceId: string;
  ts: number;
  kind: DeviceEventKind;
  /** e.g. the presence reason, the auth failure reason, the command status. */
  reason: string | null;
  data: Record<string, unknown> | null;
}

export interface EventQuery extends PageQuery {
  kinds?: DeviceEventKind[];
  from?: number;
  to?: number;
}

export interface EventLogRepository {
  /** Events of unknown devices are dropped; a re-appended id keeps the first. */
  append(events: DeviceEvent[]): Promise<void>;
  /** Newest first. */
  list(deviceId: string, query?: EventQuery): Promise<Page<DeviceEvent>>;
  /** Retention: deletes events older than `before`; returns how many. */
  prune(before: number): Promise<number>;
}

export type TokenScope = "read" | "write" | "admin";

export interface ApiToken {
  id: string;
  name: string;
  scopes: TokenScope[];
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
}

export interface TokenRepository {
  /** `tokenHash` is SHA-256 hex of the random token (high entropy: no bcrypt needed). */
  create(token: ApiToken & { tokenHash: string }): Promise<ApiToken>;
  findByHash(tokenHash: string): Promise<ApiToken | undefined>;
  list(query?: PageQuery): Promise<Page<ApiToken>>;
  delete(id: string): Promise<boolean>;
  touch(id: string, lastUsedAt: number): Promise<void>;
}

/** A complete store: one implementation of every repository over one database. */
export interface Store {
  /** Which backend: `memory`, `sqlite`, `mysql`, or a third-party Dialect's name. */
  readonly dialect: string;
  readonly devices: DeviceRepository;
  readonly groups: GroupRepository;
  readonly commands: CommandRepository;
  readonly status: StatusRepository;
  readonly state: StateRepository;
  readonly events: EventLogRepository;
  readonly tokens: TokenRepository;
  /** Fleet jobs and their executions (src/jobs). */
  readonly jobs: JobRepository;
  /** Resolves when the database answers (readiness); rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
