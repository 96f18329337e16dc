import { assertDocumentLimits, DocumentLimitError, ValidationError } from "@cloudedge/cloud-sdk";
import { DEFAULT_DOCUMENT_LIMITS, type DocumentLimits, findLimitViolation } from "@cloudedge/protocol";
import type { TObject, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { Context } from "koa";
import type { Scope } from "./auth.js";
import { readJsonBody } from "./body.js";

export type Method = "get" | "post" | "put" | "patch" | "delete";

export interface RouteInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

/** One REST endpoint: validation, auth and OpenAPI all come from this definition. */
export interface Route {
  method: Method;
  /** OpenAPI-style path, e.g. /api/v1/devices/{id}. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** Required scope; null = no token needed. */
  scope: Scope | null;
  params?: TObject;
  query?: TObject;
  body?: TSchema;
  /**
   * Body members that are JSON documents (`""`: the body itself), held to the document
   * limits (docs/protocol.md §2.2) before anything else reads them.
   */
  documents?: string[];
  headers?: Record<string, { description: string; required?: boolean }>;
  responses: Record<number, { description: string; schema?: TSchema; contentType?: string }>;
  handler: (ctx: Context, input: RouteInput) => Promise<void> | void;
}

/** Field errors for a value against a schema, as JSON Pointers relative to `prefix`. */
function fieldErrors(
  schema: TSchema,
  value: unknown,
  prefix: string,
): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  for (const error of Value.Errors(schema, value)) {
    out.push({ path: `${prefix}${error.path}`, message: error.message });
    if (out.length >= 20) break;
  }
  return out;
}

/**
 * The document limits on a body, iteratively and before any schema walks it (#20.11: a
 * patch nested 20,000 deep was a 500): its documents exactly, the rest with one level more
 * for the member that holds a document. 400 document_limit naming the limit otherwise.
 */
function checkBodyLimits(body: unknown, route: Route, limits: DocumentLimits): void {
  const members = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
  for (const name of route.documents ?? []) {
    const value = name === "" ? body : Object.hasOwn(members, name) ? members[name] : undefined;
    assertDocumentLimits(value, limits, name === "" ? "/body" : `/body/${name}`, name || "the body");
  }
  const violation = findLimitViolation(body, { ...limits, maxDepth: limits.maxDepth + 1 }, "/body");
  if (violation) throw new DocumentLimitError(violation, "the body");
}

/**
 * Parses and validates params, query (converted from strings) and body; 400
 * validation_failed with field errors, or document_limit, otherwise.
 */
export async function readInput(
  ctx: Context,
  route: Route,
  bodyLimit: number,
  documentLimits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS,
): Promise<RouteInput> {
  const errors: Array<{ path: string; message: string }> = [];
  const params = { ...(ctx.params as Record<string, string>) };
  if (route.params && !Value.Check(route.params, params))
    errors.push(...fieldErrors(route.params, params, "/params"));

  let query: Record<string, unknown> = {};
  if (route.query) {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(ctx.query))
      raw[key] = Array.isArray(value) ? value.at(-1) : value;
    query = Value.Convert(route.query, raw) as Record<string, unknown>;
    if (!Value.Check(route.query, query)) errors.push(...fieldErrors(route.query, query, "/query"));
  }

  let body: unknown;
  if (route.body) {
    body = await readJsonBody(ctx, bodyLimit);
    if (body === undefined) errors.push({ path: "/body", message: "a JSON body is required" });
    else {
      checkBodyLimits(body, route, documentLimits);
      if (!Value.Check(route.body, body)) errors.push(...fieldErrors(route.body, body, "/body"));
    }
  }
  if (errors.length > 0) throw new ValidationError("the request is invalid", errors);
  return { params, query, body };
}

/** Koa path syntax for an OpenAPI path. */
export const koaPath = (path: string): string => path.replace(/\{(\w+)\}/g, ":$1");

/** The repository page query from the `cursor` and `limit` query parameters (default limit 100). */
export function pageOf(query: Record<string, unknown>): { after?: string; limit: number } {
  const cursor = query["cursor"] as string | undefined;
  return { ...(cursor ? { after: cursor } : {}), limit: (query["limit"] as number | undefined) ?? 100 };
}
