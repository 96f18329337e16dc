import type { TSchema } from "@sinclair/typebox";
import type { Route } from "./http/route.js";
import { Problem } from "./http/schemas.js";

const plain = (schema: TSchema): Record<string, unknown> =>
  JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

/** OpenAPI 3.1 for the route table — the same schemas that validate requests. */
export function buildOpenApi(routes: Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ["path", route.params],
      ["query", route.query],
    ] as const) {
      if (!schema) continue;
      const required = new Set((schema.required as string[] | undefined) ?? []);
      for (const [name, property] of Object.entries(schema.properties)) {
        parameters.push({
          name,
          in: where,
          required: where === "path" || required.has(name),
          schema: plain(property),
        });
      }
    }
    for (const [name, header] of Object.entries(route.headers ?? {})) {
      parameters.push({
        name,
        in: "header",
        required: header.required ?? false,
        description: header.description,
        schema: { type: "string" },
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const contentType = response.contentType ?? "application/json";
      responses[status] = {
        description: response.description,
        ...(response.schema || contentType !== "application/json"
          ? { content: { [contentType]: response.schema ? { schema: plain(response.schema) } : {} } }
          : Number(status) >= 400
            ? {
                content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
              }
            : {}),
      };
    }
    if (route.scope !== null) {
      responses["401"] ??= {
        description: "Missing or invalid token.",
        content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
      };
      responses["403"] ??= {
        description: `Needs the '${route.scope}' scope.`,
        content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
      };
    }
    if (route.body || route.params || route.query) {
      responses["400"] ??= {
        description: "validation_failed (with field errors) or invalid_json.",
        content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
      };
    }
    const item = paths[route.path] ?? {};
    paths[route.path] = item;
    item[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(route.scope !== null
        ? { security: [{ bearer: [] }], "x-required-scope": route.scope }
        : { security: [] }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { "application/json": { schema: plain(route.body) } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "cloudedge REST API",
      version,
      description:
        "Northbound API of the cloudedge reference server. Errors are RFC 9457 problem+json with a stable `code`.",
      license: { name: "MIT" },
    },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "API token (scopes: read, write, admin)." },
      },
      schemas: { Problem: plain(Problem) },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
