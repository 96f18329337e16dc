import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Cloud, type Store } from "../../../src/index.js";
import { createMysqlStore } from "../../../src/mysql.js";
import { NatsClusterBus as Bus, type NatsClusterBus } from "../../../src/nats.js";
import { closeServer } from "../../support/close-server.js";

export const CLUSTER_TOKEN_KEY = "cluster-test-key-".repeat(4);

/** Where a node's store and bus come from: URLs (its own pool and connection), or given. */
export type ClusterNodeOptions = {
  nodeId: string;
  /** Job leases in NATS KV with this lifetime (default: none, every node drives what it creates). */
  jobLeaseTtlMs?: number;
} & ({ storeUrl: string; store?: undefined } | { store: Store; storeUrl?: undefined }) &
  ({ natsUrl: string; prefix: string; bus?: undefined } | { bus: NatsClusterBus; natsUrl?: undefined });

export interface ClusterNode {
  nodeId: string;
  cloud: Cloud;
  bus: NatsClusterBus;
  store: Store;
  server: Server;
  /** ws://127.0.0.1:<port>/ws */
  url: string;
  /** Graceful stop: bye to devices, release, leave the cluster, close the store. */
  stop(): Promise<void>;
}

/**
 * One hub node of a test cluster: its own MySQL pool (or the store given), its own NATS
 * connection (or the bus given), a Cloud on port 0 — what the reference server does per process, with test-speed timings. Used
 * in-process and by the child-process entry (node-main.ts).
 */
export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const store = options.store ?? (await createMysqlStore({ url: options.storeUrl }));
  const bus =
    options.bus ??
    (await Bus.connect({
      servers: options.natsUrl,
      prefix: options.prefix,
      nodeId: options.nodeId,
      heartbeatMs: 200,
      nodeTtlMs: 1_000,
    }));
  const leases = options.jobLeaseTtlMs === undefined ? undefined : await bus.jobLeases(options.jobLeaseTtlMs);
  const cloud = new Cloud({
    store,
    bus,
    ...(leases ? { jobs: { leases, pollMs: 500 } } : {}),
    tokenKey: CLUSTER_TOKEN_KEY,
    bcryptCost: 4,
    hub: { heartbeatMs: 1_000 },
    commands: { sweepMs: 50, scanMs: 200 },
    status: { flushMs: 50 },
  });
  await cloud.start();
  const server = createServer((_req, res) => res.writeHead(404).end());
  cloud.attach(server, "/ws");
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  let stopped = false;
  return {
    nodeId: options.nodeId,
    cloud,
    bus,
    store,
    server,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await cloud.close({ spreadMs: 100, graceMs: 100 }).catch(() => undefined);
      await closeServer(server);
      await bus.close();
      await store.close();
    },
  };
}
