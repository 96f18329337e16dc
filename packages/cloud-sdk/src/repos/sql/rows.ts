import type { CommandStatus, JsonObject } from "@cloudedge/protocol";
import { hardwareOf } from "../device-model.js";
import type {
  ApiToken,
  CommandError,
  CommandRecord,
  Device,
  DeviceCredentials,
  DeviceEvent,
  DeviceEventKind,
  DeviceState,
  Group,
  Nic,
  Software,
  StatusRecord,
  TokenScope,
} from "../types.js";

/** A result row as both drivers hand it over; column names are the same in both dialects. */
export type Row = Record<string, unknown>;

/** A bound parameter both drivers accept. Ids are bound as bigint so no value passes through a double. */
export type SqlParam = string | number | bigint | null;

/**
 * Integers arrive as bigint (better-sqlite3 safeIntegers) or decimal strings (mysql2
 * bigNumberStrings); times and counters are far below 2^53, so Number() is exact for them.
 */
export function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint" || typeof value === "string") return Number(value);
  throw new TypeError(`expected an integer column, got ${typeof value}`);
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

/** A Snowflake column as its exact decimal string. */
export function id(value: unknown): string {
  if (typeof value === "bigint" || typeof value === "string") return value.toString();
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  throw new TypeError(`expected an id column, got ${typeof value}`);
}

export function idOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : id(value);
}

export function bool(value: unknown): boolean {
  return num(value) !== 0;
}

export function str(value: unknown): string {
  return typeof value === "string" ? value : String(value ?? "");
}

export function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : str(value);
}

/** A JSON text column; SQL NULL reads as null. */
export function json(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return JSON.parse(value);
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString("utf8"));
  return value;
}

/** The device columns every read path selects: never secret_hash. */
export const DEVICE_COLUMNS =
  "d.id, d.name, d.type, d.description, d.labels, d.disabled, d.serial_number, d.model, d.nics, d.software, " +
  "d.online, d.connected_at, d.last_seen_at, d.created_at, d.updated_at";

export function deviceFromRow(row: Row): Device {
  return {
    id: id(row.id),
    name: str(row.name),
    type: str(row.type),
    description: str(row.description),
    labels: (json(row.labels) ?? {}) as Record<string, string>,
    disabled: bool(row.disabled),
    hardware: hardwareOf(strOrNull(row.serial_number), strOrNull(row.model), (json(row.nics) ?? []) as Nic[]),
    software: (json(row.software) ?? {}) as Software,
    online: bool(row.online),
    connectedAt: numOrNull(row.connected_at),
    lastSeenAt: numOrNull(row.last_seen_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function credentialsFromRow(row: Row): DeviceCredentials {
  return {
    deviceId: id(row.id),
    secretHash: str(row.secret_hash),
    generation: num(row.generation),
    disabled: bool(row.disabled),
  };
}

export function groupFromRow(row: Row): Group {
  return {
    id: id(row.id),
    name: str(row.name),
    description: str(row.description),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function commandFromRow(row: Row): CommandRecord {
  return {
    id: id(row.id),
    deviceId: id(row.device_id),
    method: str(row.method),
    params: json(row.params),
    status: str(row.status) as CommandStatus,
    result: json(row.result),
    error: json(row.error) as CommandError | null,
    timeoutMs: num(row.timeout_ms),
    expiresAt: numOrNull(row.expires_at),
    deadline: numOrNull(row.deadline),
    attempts: num(row.attempts),
    acknowledgedAt: numOrNull(row.acknowledged_at),
    groupId: idOrNull(row.group_id),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function statusFromRow(row: Row): StatusRecord {
  return {
    deviceId: id(row.device_id),
    ts: num(row.ts),
    receivedAt: num(row.received_at),
    data: (json(row.data) ?? {}) as Record<string, unknown>,
  };
}

export function stateFromRow(row: Row): DeviceState {
  return {
    deviceId: id(row.device_id),
    desired: (json(row.desired) ?? {}) as JsonObject,
    desiredVersion: num(row.desired_version),
    reported: (json(row.reported) ?? {}) as JsonObject,
    reportedVersion: num(row.reported_version),
    updatedAt: num(row.updated_at),
  };
}

export function eventFromRow(row: Row): DeviceEvent {
  return {
    id: id(row.id),
    deviceId: id(row.device_id),
    ts: num(row.ts),
    kind: str(row.kind) as DeviceEventKind,
    reason: strOrNull(row.reason),
    data: json(row.data) as Record<string, unknown> | null,
  };
}

/** Token columns without token_hash. */
export const TOKEN_COLUMNS = "id, name, scopes, created_at, expires_at, last_used_at";

export function tokenFromRow(row: Row): ApiToken {
  return {
    id: id(row.id),
    name: str(row.name),
    scopes: (json(row.scopes) ?? []) as TokenScope[],
    createdAt: num(row.created_at),
    expiresAt: numOrNull(row.expires_at),
    lastUsedAt: numOrNull(row.last_used_at),
  };
}
