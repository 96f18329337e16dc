#!/usr/bin/env node
/**
 * A second cloudedge server in one file, on plain node:http, through the cloud SDK alone:
 * what the Koa reference server does for these routes, with no logic of its own beyond
 * parsing HTTP. Env: PORT (9090; 0 picks a free one), CLOUDEDGE_DB (memory:),
 * CLOUDEDGE_TOKEN_KEY (random per start), CLOUDEDGE_ADMIN_TOKEN (generated and printed).
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ApiTokenService,
  Cloud,
  createIdGenerator,
  hasScope,
  isCloudError,
  openStore,
  type RegisterDeviceInput,
  type TokenScope,
} from "@cloudedge/cloud-sdk";

type Handler = (body: Record<string, unknown>, params: string[]) => Promise<[number, unknown]>;
interface Route {
  method: string;
  pattern: RegExp;
  scope: TokenScope;
  handler: Handler;
}

const store = await openStore(process.env["CLOUDEDGE_DB"] ?? "memory:");
const ids = createIdGenerator();
const cloud = new Cloud({
  store,
  ids,
  tokenKey: process.env["CLOUDEDGE_TOKEN_KEY"] ?? randomBytes(32).toString("hex"),
});
await cloud.start();
const tokens = new ApiTokenService({ tokens: store.tokens, ids });
const { token: adminToken } = await tokens.create({
  name: "admin",
  scopes: ["admin"],
  ...(process.env["CLOUDEDGE_ADMIN_TOKEN"] ? { token: process.env["CLOUDEDGE_ADMIN_TOKEN"] } : {}),
});

const routes: Route[] = [
  {
    method: "POST",
    pattern: /^\/devices$/,
    scope: "write",
    handler: async (body) => {
      const { device, secret } = await cloud.devices.register(body as unknown as RegisterDeviceInput);
      return [201, { ...device, secret }];
    },
  },
  {
    method: "GET",
    pattern: /^\/devices$/,
    scope: "read",
    handler: async () => [200, await cloud.devices.list()],
  },
  {
    method: "GET",
    pattern: /^\/devices\/(\d+)$/,
    scope: "read",
    handler: async (_, [id]) => [200, await cloud.devices.view(id as string)],
  },
  {
    method: "POST",
    pattern: /^\/devices\/(\d+)\/commands$/,
    scope: "write",
    // As the reference server's `wait`: the outcome, or 504 (result_timeout or
    // delivery_timeout, with the commandId) when none came in time.
    handler: async (body, [id]) => {
      const { method, params, timeoutMs } = body as { method: string; params?: unknown; timeoutMs?: number };
      const options = timeoutMs !== undefined ? { timeoutMs } : {};
      return [200, await cloud.broker.execute(id as string, method, params ?? null, options)];
    },
  },
];

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length > 0
    ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
    : {};
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** One request: find the route, check the API token's scope, run it, map CloudErrors to their status. */
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  let params: string[] = [];
  const route = routes.find((r) => {
    const match = r.method === req.method && r.pattern.exec(path);
    if (match) params = match.slice(1);
    return match;
  });
  if (!route) return reply(res, 404, { code: "not_found", message: "no such route" });
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "");
  const verified = bearer && (await tokens.verify(bearer[1] as string));
  if (!verified || !hasScope(verified.token, route.scope))
    return reply(res, 401, { code: "unauthorized", message: `send a token with the '${route.scope}' scope` });
  try {
    const [status, body] = await route.handler(await readBody(req), params);
    reply(res, status, body);
  } catch (error) {
    if (error instanceof SyntaxError)
      return reply(res, 400, { code: "invalid_json", message: error.message });
    if (!isCloudError(error) || !error.expose) throw error;
    reply(res, error.status, { code: error.code, message: error.message, ...error.details });
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => reply(res, 500, { code: "internal", message: "internal error" }));
});
cloud.attach(server, "/ws");
server.listen(Number(process.env["PORT"] ?? 9090), process.env["HOST"] ?? "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening on http://127.0.0.1:${port} (devices: ws://127.0.0.1:${port}/ws)\n`);
  process.stdout.write(`admin token: ${adminToken}\n`);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    server.close();
    await cloud.close({ spreadMs: 1_000, graceMs: 500 });
    server.closeAllConnections();
    await store.close();
    process.exit(0);
  });
}
