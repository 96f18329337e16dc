import { Type } from "@sinclair/typebox";
import type { AppDeps } from "../context.js";
import { HttpError } from "../http/problem.js";
import type { Route } from "../http/route.js";

/** Liveness and readiness (no token). */
export function healthRoutes(deps: AppDeps): Route[] {
  return [
    {
      method: "get",
      path: "/healthz",
      operationId: "health",
      summary: "Liveness: the process serves requests.",
      tag: "health",
      scope: null,
      responses: { 200: { description: "Alive.", schema: Type.Object({ status: Type.Literal("ok") }) } },
      handler: (ctx) => {
        ctx.body = { status: "ok" };
      },
    },
    {
      method: "get",
      path: "/readyz",
      operationId: "ready",
      summary: "Readiness: the database answers.",
      tag: "health",
      scope: null,
      responses: {
        200: {
          description: "Ready.",
          schema: Type.Object({ status: Type.Literal("ready"), devicesOnline: Type.Integer() }),
        },
        503: {
          description:
            "store_unavailable: the database refused, or did not answer within CLOUDEDGE_DB_TIMEOUT_MS (default 5 s).",
        },
      },
      handler: async (ctx) => {
        try {
          await deps.store.ping();
        } catch {
          throw new HttpError(503, "store_unavailable", "the database is unavailable");
        }
        ctx.body = { status: "ready", devicesOnline: deps.cloud.hub.sessionCount };
      },
    },
  ];
}
