import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  Cloud,
  type CloudOptions,
  createIdGenerator,
  createMemoryStore,
  type HubWebSocketServerOptions,
  type Store,
} from "@cloudedge/cloud-sdk";
import pino from "pino";
import { ApiTokens, createApp } from "../../src/app.js";
import type { AppDeps } from "../../src/context.js";

/** A parsed response body, loosely typed: tests assert on it field by field. */
export type ApiBody = any;

export interface TestServer {
  url: string;
  wsUrl: string;
  cloud: Cloud;
  store: Store;
  deps: AppDeps;
  admin: string;
  /** fetch against the server; JSON bodies in and out. */
  api: (
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ) => Promise<{ status: number; body: any; headers: Headers }>;
  close: () => Promise<void>;
}

/** The app in-process on port 0 over the memory store (or the one given), with an admin token. */
export async function startTestServer(
  options: {
    store?: Store;
    overrides?: Partial<AppDeps>;
    sweepMs?: number;
    /** Cloud options over the fixture's (bcrypt cost, auth limits, hub bounds). */
    cloud?: Partial<CloudOptions>;
    /** WebSocket endpoint options (trusted proxies). */
    ws?: HubWebSocketServerOptions;
  } = {},
): Promise<TestServer> {
  const store = options.store ?? createMemoryStore();
  const ids = createIdGenerator();
  const cloud = new Cloud({
    store,
    tokenKey: "t".repeat(64),
    ids,
    bcryptCost: 4,
    commands: { sweepMs: options.sweepMs ?? 50 },
    status: { flushMs: 50 },
    ...options.cloud,
    hub: { heartbeatMs: 1_000, ...options.cloud?.hub },
  });
  await cloud.start();
  const tokens = new ApiTokens(store, ids);
  const { token: admin } = await tokens.create({ name: "admin", scopes: ["admin"] });
  const deps: AppDeps = {
    cloud,
    store,
    tokens,
    ids,
    logger: pino({ level: "silent" }),
    sseHeartbeatMs: 200,
    ...options.overrides,
  };
  const { app, streams } = createApp(deps);
  const server: Server = createServer(app.callback());
  cloud.attach(server, "/ws", options.ws);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const api: TestServer["api"] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? admin : opts.token;
    if (token !== null) headers["authorization"] = `Bearer ${token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (metrics)
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    cloud,
    store,
    deps,
    admin,
    api,
    close: async () => {
      streams.closeAll();
      await cloud.close({ spreadMs: 100, graceMs: 100 });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
    },
  };
}
