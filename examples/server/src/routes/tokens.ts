import { Type } from "@sinclair/typebox";
import type { AppDeps } from "../context.js";
import type { Scope } from "../http/auth.js";
import { pageOf, type Route } from "../http/route.js";
import * as S from "../http/schemas.js";
import type { EventStreams } from "./events.js";

/** API tokens (admin scope): create (shown once), list, revoke. */
export function tokenRoutes(deps: AppDeps, streams: EventStreams): Route[] {
  return [
    {
      method: "post",
      path: "/api/v1/tokens",
      operationId: "createToken",
      summary: "Create an API token; the response carries it, shown this once.",
      tag: "tokens",
      scope: "admin",
      body: S.NewApiToken,
      responses: {
        201: { description: "Created.", schema: S.CreatedApiToken },
        400: { description: "validation_failed, e.g. expiresInMs outside one minute … ten years." },
      },
      handler: async (ctx, { body }) => {
        ctx.status = 201;
        ctx.body = await deps.tokens.create(body as { name: string; scopes: Scope[]; expiresInMs?: number });
      },
    },
    {
      method: "get",
      path: "/api/v1/tokens",
      operationId: "listTokens",
      summary: "List API tokens (never their values).",
      tag: "tokens",
      scope: "admin",
      query: Type.Object({ ...S.PageQuery }),
      responses: { 200: { description: "A page of tokens.", schema: S.Page(S.ApiToken) } },
      handler: async (ctx, { query }) => {
        ctx.body = await deps.tokens.list(pageOf(query));
      },
    },
    {
      method: "delete",
      path: "/api/v1/tokens/{id}",
      operationId: "deleteToken",
      summary: "Revoke an API token.",
      tag: "tokens",
      scope: "admin",
      params: Type.Object({ id: S.Id }),
      responses: { 204: { description: "Revoked." }, 404: { description: "No such token." } },
      handler: async (ctx, { params }) => {
        await deps.tokens.revoke(params["id"] as string);
        streams.endForToken(params["id"] as string);
        ctx.status = 204;
      },
    },
  ];
}
