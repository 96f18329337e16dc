import { clampLimit } from "./paging.js";
import type { StatusHistoryQuery, StatusRecord } from "./types.js";

export const DEFAULT_HISTORY_LIMIT = 1000;
export const MAX_HISTORY_LIMIT = 10000;

/** The history query with defaults applied: limit 1..10000 (default 1000), newest first. */
export function historyQuery(query: StatusHistoryQuery = {}): {
  from: number | undefined;
  to: number | undefined;
  limit: number;
  order: "asc" | "desc";
} {
  return {
    from: query.from,
    to: query.to,
    limit: clampLimit(query.limit, DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT),
    order: query.order === "asc" ? "asc" : "desc",
  };
}

/**
 * The newest report per device in a batch. Latest keeps the greatest ts: an outbox report
 * replayed after reconnect is older than what the device sent since and must not win.
 */
export function newestPerDevice(records: StatusRecord[]): StatusRecord[] {
  const newest = new Map<string, StatusRecord>();
  for (const record of records) {
    const current = newest.get(record.deviceId);
    if (current === undefined || record.ts > current.ts) newest.set(record.deviceId, record);
  }
  return [...newest.values()];
}
