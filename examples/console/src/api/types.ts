import { type CommandStatus, TERMINAL_COMMAND_STATUSES } from "@cloudedge/protocol/command-status";

/** REST v1 resource shapes the console reads (docs/openapi.json); unknown fields are kept. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Nic {
  type?: string;
  name?: string;
  mac?: string;
  ipv4?: string;
}

export interface Device {
  id: string;
  name: string;
  type: string;
  description: string;
  labels: Record<string, string>;
  groupIds: string[];
  disabled: boolean;
  online: boolean;
  connectedAt: number | null;
  lastSeenAt: number | null;
  createdAt: number;
  updatedAt: number;
  hardware: { serialNumber?: string; model?: string; nics: Nic[] };
  software: { version?: string; lastUpdate?: number };
  status?: Status | null;
}

export interface RegisteredDevice extends Device {
  secret: string;
}

/** A flattened status report: cpu, memory, disks, uptimeS and collector extras. */
export interface Status {
  deviceId: string;
  ts: number;
  receivedAt?: number;
  cpu?: { usagePercent?: number; cores?: number; load?: number[] };
  memory?: { totalBytes?: number; usedBytes?: number; availableBytes?: number };
  disks?: Array<{
    mount?: string;
    totalBytes?: number;
    usedBytes?: number;
    usePercent?: number;
    fs?: string;
  }>;
  uptimeS?: number;
  [extra: string]: unknown;
}

/** The statuses a command ends in (the console stops watching it there). */
export const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_COMMAND_STATUSES);

export interface Command {
  id: string;
  deviceId: string;
  method: string;
  params: unknown;
  status: CommandStatus;
  result: unknown;
  error: { code: string; message: string; details?: unknown } | null;
  timeoutMs: number;
  expiresAt: number | null;
  deadline: number | null;
  attempts: number;
  groupId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface State {
  desired: JsonObject;
  reported: JsonObject;
  delta: JsonObject;
  desiredVersion: number;
  reportedVersion: number;
}

export interface Group {
  id: string;
  name: string;
  description: string;
  createdAt: number;
  updatedAt: number;
}

export interface DeviceEvent {
  id: string;
  deviceId: string;
  ts: number;
  kind: string;
  reason: string | null;
  data: Record<string, unknown> | null;
}

export interface FanOutItem {
  deviceId: string;
  commandId?: string;
  status?: CommandStatus;
  error?: { code: string; message: string };
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** What GET /api/v1/events streams (`event:` is `type`, `data:` this JSON). */
export type CloudEvent =
  | {
      type: "presence";
      deviceId: string;
      at: number;
      online: boolean;
      reason: string;
    }
  | {
      type: "status";
      deviceId: string;
      at: number;
      status: { deviceId: string; ts: number; receivedAt: number; data: Record<string, unknown> };
    }
  | {
      type: "state";
      deviceId: string;
      at: number;
      side: "desired" | "reported";
      version: number;
      patch: JsonObject;
    }
  | { type: "command"; deviceId: string; at: number; command: Command };
