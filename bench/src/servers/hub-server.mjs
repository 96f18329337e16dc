// The hub under test in its own process: the real cloud SDK (hub + broker + status ingest)
// over a memory, SQLite or MySQL store, with the bench fleet registered straight into the
// store with one shared bcrypt hash. Serves probe ops plus RPC load and status windows.
// Cluster mode (`cluster: {servers, prefix, nodeId}`): one node of a cluster over NATS
// (NatsClusterBus), sharing the store with the others; `register: false` leaves the
// registration to another node.
import { createServer } from "node:http";
import { writeHeapSnapshot } from "node:v8";
import { Cloud, createMemoryStore, openStore } from "@cloudedge/cloud-sdk";
import { NatsClusterBus } from "@cloudedge/cloud-sdk/nats";
import { build } from "hdr-histogram-js";
import { deviceId, TOKEN_KEY } from "../fleet-ids.mjs";
import { childConfig, serve } from "../ipc.mjs";
import { indexQueuedCommands } from "./indexed-commands.mjs";
import { attachLean } from "./lean-transport.mjs";
import { natsEcho, natsProbe } from "./nats-baseline.mjs";
import { probeHandlers } from "./probe.mjs";
import { runRpc } from "./rpc-driver.mjs";

const config = childConfig();
const started = performance.now();
const store = config.db === "memory" ? createMemoryStore() : await openStore(config.db);

// Registration: straight into the store, a few writes in flight for SQL stores.
const now = Date.now();
let next = 0;
const register = async () => {
  while (next < config.devices) {
    const i = next++;
    await store.devices.create({
      id: deviceId(i),
      name: `bench-${i}`,
      secretHash: config.secretHash,
      createdAt: now,
    });
  }
};
if (config.register !== false)
  await Promise.all(Array.from({ length: config.db === "memory" ? 1 : 16 }, register));
const bus = config.cluster ? await NatsClusterBus.connect(config.cluster) : undefined;

// Durable-row lag: wrap the status repository so each batch, once written, records how
// long its reports waited since the hub received them (and since the device stamped them).
const newHistogram = () =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
let sinceReceived = newHistogram();
let sinceStamped = newHistogram();
let durable = 0;
let batchMs = newHistogram();
let batchRows = 0;
let batchCount = 0;
const insertBatch = store.status.insertBatch.bind(store.status);
store.status.insertBatch = async (batch) => {
  const begun = performance.now();
  await insertBatch(batch);
  const at = Date.now();
  batchMs.recordValue(Math.max(1, Math.round(performance.now() - begun)));
  batchRows += batch.length;
  batchCount++;
  for (const record of batch) {
    sinceReceived.recordValue(Math.max(1, at - record.receivedAt));
    sinceStamped.recordValue(Math.max(1, at - record.ts));
  }
  durable += batch.length;
};

if (config.indexCommands) indexQueuedCommands(store.commands);

const cloud = new Cloud({
  store,
  ...(bus ? { bus } : {}),
  tokenKey: TOKEN_KEY,
  auth: {
    acceptTokens: config.acceptTokens !== false,
    // One address hosts ~75 bench devices: keep per-address failure locks out of the way.
    perAddress: { maxFailures: 1_000_000, windowMs: 1_000, lockMs: 1 },
  },
  hub: {
    heartbeatMs: config.heartbeatMs,
    // Likewise the per-address bound on pending handshakes: a storm reconnects ~75 per address.
    maxHandshakesPerAddress: 1_000_000,
    maxSessions: config.maxSessions,
    ...(config.maxHandshakes ? { maxHandshakes: config.maxHandshakes } : {}),
    // Experiments (CLOUDEDGE_BENCH_HUB_OPTIONS): other admission settings, e.g. tryLaterMs.
    ...config.hubOptions,
  },
  // The status scenario offers up to 20 reports/s per device: measure ingest, not the quota.
  status: {
    ...(config.statusFlushMs ? { flushMs: config.statusFlushMs } : {}),
    quota: { reportsPerMinute: 1e9, burst: 1e9 },
  },
});
await cloud.start();
const server = createServer();
if (config.transport === "lean") attachLean(cloud.hub, server, "/ws");
else cloud.attach(server, "/ws");

let statusWindow = { at: performance.now(), durable: 0 };
let echo;
const handlers = {
  ...probeHandlers,
  stats: () => ({
    sessions: cloud.hub.sessionCount,
    hub: cloud.hub.stats,
    status: {
      written: cloud.status.writer.written,
      pending: cloud.status.writer.size,
      dropped: cloud.status.writer.dropped,
    },
  }),
  rpc: (args) => runRpc(cloud, args),
  // The bare-NATS floor of a cross-node command (cluster mode): B echoes, A probes.
  natsEcho: async ({ subject }) => {
    echo = await natsEcho({ servers: config.cluster.servers, subject });
    return true;
  },
  natsProbe: (args) => natsProbe({ servers: config.cluster.servers, ...args }),
  heapSnapshot: ({ file }) => {
    globalThis.gc?.();
    return writeHeapSnapshot(file);
  },
  statusWindowStart: async () => {
    sinceReceived = newHistogram();
    sinceStamped = newHistogram();
    batchMs = newHistogram();
    batchRows = 0;
    batchCount = 0;
    statusWindow = { at: performance.now(), durable };
    return true;
  },
  statusWindowStop: async () => {
    const elapsedS = (performance.now() - statusWindow.at) / 1000;
    const pct = (h, p) => h.getValueAtPercentile(p);
    return {
      elapsedS,
      durablePerS: Math.round((durable - statusWindow.durable) / elapsedS),
      pending: cloud.status.writer.size,
      dropped: cloud.status.writer.dropped,
      batches: cloud.status.writer.batches,
      lagMs: { p50: pct(sinceReceived, 50), p99: pct(sinceReceived, 99), max: sinceReceived.maxValue },
      batch: {
        count: batchCount,
        meanRows: Math.round(batchRows / Math.max(1, batchCount)),
        p50Ms: pct(batchMs, 50),
        p99Ms: pct(batchMs, 99),
      },
      lagSinceDeviceMs: {
        p50: pct(sinceStamped, 50),
        p99: pct(sinceStamped, 99),
        max: sinceStamped.maxValue,
      },
    };
  },
  close: async () => {
    await echo?.close();
    await cloud.close({ spreadMs: 1_000, graceMs: 500 });
    await bus?.close();
    await store.close?.();
    return true;
  },
};

server.listen(config.port ?? 0, "127.0.0.1", () => {
  const address = server.address();
  serve(handlers, {
    port: typeof address === "object" && address ? address.port : 0,
    startMs: Math.round(performance.now() - started),
  });
});
