import http from "node:http";
import type { AddressInfo } from "node:net";
import { Cloud, createMemoryStore } from "@cloudedge/cloud-sdk";
import type { EdgeClient } from "../../src/edge-client.js";
import type { EdgeClientEvents } from "../../src/events.js";

type Store = ReturnType<typeof createMemoryStore>;

/** A real cloudedge hub (cloud SDK) on a loopback port, for integration tests. */
export interface TestHub {
  cloud: Cloud;
  store: Store;
  port: number;
  url: string;
  /** Graceful shutdown: bye + 4009 to every device, then the HTTP server closes. */
  stop(): Promise<void>;
}

export async function startHub(
  options: { port?: number; store?: Store; heartbeatMs?: number; onRequest?: http.RequestListener } = {},
): Promise<TestHub> {
  const store = options.store ?? createMemoryStore();
  const cloud = new Cloud({
    store,
    tokenKey: "x".repeat(64),
    bcryptCost: 4,
    hub: { heartbeatMs: options.heartbeatMs ?? 1_000 },
  });
  await cloud.start();
  const server = http.createServer(options.onRequest);
  cloud.attach(server, "/ws");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  return {
    cloud,
    store,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await cloud.close({ spreadMs: 500, graceMs: 200 });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves when `check` returns a truthy value (polled); rejects with `what` after `timeoutMs`. */
export async function until<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with the next emission of a client event (optionally matching `filter`). */
export function next<K extends keyof EdgeClientEvents>(
  client: EdgeClient,
  event: K,
  filter: (...args: Parameters<EdgeClientEvents[K]>) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Parameters<EdgeClientEvents[K]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, listener as never);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (...args: Parameters<EdgeClientEvents[K]>) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      client.off(event, listener as never);
      resolve(args[0]);
    };
    client.on(event, listener as never);
  });
}
