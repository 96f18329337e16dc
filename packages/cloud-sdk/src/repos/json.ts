/** JSON text of any value; undefined (and other non-JSON values) become null, as a SQL column would. */
export function toJson(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

/** A deep copy through JSON, so memory stores behave exactly like the SQL ones (and never alias callers' objects). */
export function jsonClone<T>(value: T): T {
  return JSON.parse(toJson(value)) as T;
}
