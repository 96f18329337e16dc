import { randomUUID } from "node:crypto";
import { type CloudError, isCloudError } from "@cloudedge/cloud-sdk";
import Router from "@koa/router";
import Koa from "koa";
import type { AppDeps } from "./context.js";
import { requireScope } from "./http/auth.js";
import { problemMiddleware } from "./http/problem.js";
import { koaPath, type Route, readInput } from "./http/route.js";
import { createMetrics } from "./metrics.js";
import { buildOpenApi } from "./openapi.js";
import { commandRoutes } from "./routes/commands.js";
import { consoleMiddleware } from "./routes/console.js";
import { deviceRoutes } from "./routes/devices.js";
import { EventStreams, eventRoutes } from "./routes/events.js";
import { groupRoutes } from "./routes/groups.js";
import { healthRoutes } from "./routes/health.js";
import { enveloped, legacyRoutes } from "./routes/legacy.js";
import { tokenRoutes } from "./routes/tokens.js";

export const API_VERSION = "1.0.0";

export type { AppDeps } from "./context.js";
export { ApiTokens, hashToken } from "./http/auth.js";

/** Every route of the REST API (also the source of the OpenAPI document). */
export function apiRoutes(deps: AppDeps, streams = new EventStreams(deps.sse)): Route[] {
  return [
    ...healthRoutes(deps),
    ...deviceRoutes(deps),
    ...commandRoutes(deps),
    ...groupRoutes(deps),
    ...eventRoutes(deps, streams),
    ...tokenRoutes(deps, streams),
    ...legacyRoutes(deps),
  ];
}

/** The OpenAPI 3.1 document (served at /api/v1/openapi.json, committed as docs/openapi.json). */
export function openApiDocument(deps: AppDeps): Record<string, unknown> {
  return buildOpenApi(apiRoutes(deps), API_VERSION);
}

/**
 * The Koa app, not listening: REST v1, health, metrics, OpenAPI. The WebSocket endpoint
 * is attached to the HTTP server by `main` (cloud.attach). Returns the app and the open
 * SSE streams (for shutdown).
 */
export function createApp(deps: AppDeps): { app: Koa; streams: EventStreams } {
  const streams = new EventStreams(deps.sse);
  const routes = apiRoutes(deps, streams);
  const openapi = buildOpenApi(routes, API_VERSION);
  const app = new Koa({ proxy: false });
  // Clients that hang up mid-response (SSE, aborted downloads) are not server errors.
  app.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "ERR_STREAM_PREMATURE_CLOSE" || error.code === "ECONNRESET" || error.code === "EPIPE")
      return;
    deps.logger.error({ err: error }, "response error");
  });
  const router = new Router();
  const bodyLimit = deps.bodyLimitBytes ?? 1_048_576;

  app.use(async (ctx, next) => {
    const incoming = ctx.get("x-request-id");
    ctx.state.requestId = /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set("X-Request-Id", ctx.state.requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      // Request log: never the Authorization header, never bodies (they may carry secrets).
      deps.logger.info(
        {
          requestId: ctx.state.requestId,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        "request",
      );
    }
  });
  app.use(problemMiddleware(deps.logger));

  for (const route of routes) {
    router[route.method](koaPath(route.path), async (ctx) => {
      const run = async () => {
        if (route.scope !== null) requireScope(await deps.tokens.authenticate(ctx), route.scope);
        const input = await readInput(ctx, route, bodyLimit, deps.cloud.hub.documentLimits);
        await route.handler(ctx, input);
      };
      if (route.tag !== "legacy") return run();
      // The original system's callers get its envelope for every failure, auth included.
      try {
        await run();
      } catch (error) {
        if (!isCloudError(error)) throw error;
        await enveloped(ctx, () => Promise.reject(error as CloudError));
      }
    });
  }
  router.get("/api/v1/openapi.json", (ctx) => {
    ctx.body = openapi;
  });
  if (deps.metrics !== false) {
    const registry = createMetrics(deps.cloud, streams);
    router.get("/metrics", async (ctx) => {
      ctx.type = registry.contentType;
      ctx.body = await registry.metrics();
    });
  }
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use(consoleMiddleware()); // the web console at / (examples/console)
  return { app, streams };
}
