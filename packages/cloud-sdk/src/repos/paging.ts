import { ValidationError } from "../errors.js";
import { parseId } from "./ids.js";
import type { Page } from "./types.js";

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** A requested page size clamped to 1..max; absent or non-finite means `fallback`. */
export function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(max, Math.max(1, Math.floor(limit)));
}

/** The page size of a PageQuery: default 100, at most 1000. */
export function pageLimit(limit: number | undefined): number {
  return clampLimit(limit, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT);
}

/** Cursors are base64url of the last id on the page: opaque to callers, cheap to check. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, "utf8").toString("base64url");
}

/** The id a cursor points after; a cursor this module did not make throws ValidationError. */
export function decodeCursor(cursor: string): bigint {
  const id = parseId(Buffer.from(cursor, "base64url").toString("utf8"));
  if (id === undefined || encodeCursor(id.toString()) !== cursor) {
    throw new ValidationError("invalid cursor", [
      { path: "after", message: "not a cursor from a previous page" },
    ]);
  }
  return id;
}

/** The cursor id of a query, or undefined when it asks for the first page. */
export function afterId(after: string | undefined): bigint | undefined {
  return after === undefined || after === "" ? undefined : decodeCursor(after);
}

/** Builds a page from up to limit+1 fetched items: the extra one only proves there is a next page. */
export function toPage<T>(fetched: T[], limit: number, idOf: (item: T) => string): Page<T> {
  if (fetched.length <= limit) return { items: fetched };
  const items = fetched.slice(0, limit);
  const last = items[items.length - 1];
  return last === undefined ? { items } : { items, nextCursor: encodeCursor(idOf(last)) };
}
