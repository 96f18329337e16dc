#!/usr/bin/env node
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { hostname } from "node:os";
import { Cloud, type ClusterBus, createIdGenerator, openStore, type Store } from "@cloudedge/cloud-sdk";
import { NatsClusterBus } from "@cloudedge/cloud-sdk/nats";
import pino from "pino";
import { createApp } from "./app.js";
import { bootstrapAdminToken, checkFileModes, loadTokenKey } from "./bootstrap.js";
import { ConfigError, helpText, loadConfig, quotaOptions, type ServerConfig } from "./config.js";
import { ApiTokens } from "./http/auth.js";
import { applyHttpLimits, httpServerOptions } from "./http/server-limits.js";
import { journalPath } from "./journals.js";
import { runPrimary } from "./workers.js";

/** Starts the reference server; resolves with a `stop()` that shuts it down gracefully. */
export async function startServer(config: ServerConfig, logger = pino({ level: config.logLevel })) {
  let store: Store;
  try {
    store = await openStore(config.db, { timeoutMs: config.dbTimeoutMs });
  } catch (error) {
    throw new ConfigError(
      `cannot open the database ${config.db.replace(/\/\/[^@/]*@/, "//***@")}: ${(error as Error).message}`,
    );
  }
  const workerId = Number(process.env["CLOUDEDGE_WORKER_ID"] ?? 0);
  const ids = createIdGenerator(workerId);
  const tokenKey = loadTokenKey(config.dataDir, config.tokenKey);
  // Cluster mode: hubs (processes or machines) share devices, commands and events over NATS.
  let bus: ClusterBus | undefined;
  if (config.natsUrl) {
    try {
      bus = await NatsClusterBus.connect({
        servers: config.natsUrl,
        prefix: config.natsPrefix,
        nodeId: `${hostname()}-${process.pid}`,
        logger,
      });
    } catch (error) {
      await store.close();
      throw new ConfigError(`cannot reach NATS at ${config.natsUrl}: ${(error as Error).message}`);
    }
  }
  const cloud = new Cloud({
    store,
    tokenKey,
    ids,
    logger,
    journalPath: journalPath(config.dataDir, workerId),
    ...(bus ? { bus } : {}),
    bcryptCost: config.bcryptCost,
    ...quotaOptions(config.quotas),
    hub: {
      heartbeatMs: config.heartbeatMs,
      maxSessions: config.maxSessions,
      maxHandshakes: config.maxHandshakes,
      maxHandshakesPerAddress: config.maxHandshakesPerAddress,
    },
  });
  let recovered: Awaited<ReturnType<Cloud["start"]>>;
  try {
    recovered = await cloud.start();
  } catch (error) {
    await bounded(store.close(), 2_000);
    throw error;
  }
  if (recovered.requeued + recovered.timedOut + recovered.expired > 0)
    logger.info(recovered, "recovered commands left by the previous run");

  const tokens = new ApiTokens(store, ids);
  const bootstrap = await bootstrapAdminToken(store, tokens, config.dataDir, config.adminToken);
  for (const loose of checkFileModes(config.dataDir, config.db))
    logger.warn(loose, "group or others can access this secret-holding path: chmod go-rwx it");
  const { app, streams } = createApp({
    cloud,
    store,
    tokens,
    ids,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    metrics: config.metrics,
    legacyAuth: config.legacyAuth,
    sse: {
      streamsPerToken: config.quotas.sseStreamsPerToken,
      maxBufferBytes: config.quotas.sseMaxBufferBytes,
    },
  });
  const handler = app.callback();
  const tls = config.tlsCert && config.tlsKey;
  const limits = httpServerOptions(config.http);
  const server: Server = tls
    ? createHttpsServer(
        {
          ...limits,
          cert: readFileSync(config.tlsCert as string),
          key: readFileSync(config.tlsKey as string),
        },
        handler,
      )
    : createHttpServer(limits, handler);
  const wsServer = cloud.webSocketServer({ trustedProxies: config.trustProxy });
  applyHttpLimits(server, config.http, {
    path: "/ws",
    upgrade: (req, socket, head) => wsServer.handleUpgrade(req, socket, head),
    exempt: (address) => config.trustProxy.trusts(address),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const scheme = tls ? "https" : "http";
  logger.info({ port, db: config.db.replace(/\/\/[^@/]*@/, "//***@") }, "listening");
  process.stdout.write(
    `cloudedge server listening on ${scheme}://${config.host}:${port} (devices: ${tls ? "wss" : "ws"}://<host>:${port}/ws)\n`,
  );
  if (bootstrap) {
    process.stdout.write(
      `admin API token (shown once; also written to ${bootstrap.file}, mode 0600):\n  ${bootstrap.token}\n`,
    );
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info({}, "shutting down");
      server.close();
      streams.closeAll();
      const report = await cloud.close({
        spreadMs: config.shutdownSpreadMs,
        graceMs: 2_000,
        flushGraceMs: config.shutdownFlushMs,
      });
      await wsServer.close(0);
      server.closeAllConnections();
      // A hung database or NATS must not hold the exit: what mattered is written or journaled.
      await bounded(bus?.close(), 2_000);
      await bounded(store.close(), 2_000);
      const lost = Object.entries(report.lost).filter(([, n]) => n > 0);
      if (lost.length > 0)
        throw new Error(`buffered writes lost: ${lost.map(([kind, n]) => `${n} ${kind}`).join(", ")}`);
    })();
    return stopping;
  };
  return { port, server, cloud, store, stop };
}

/** Waits for `work`, but at most `ms`; a failure of `work` is ignored. */
async function bounded(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work?.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

async function main(): Promise<void> {
  let config: ServerConfig | "help";
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`cloudedge-server: ${(error as Error).message}\n\n${helpText()}\n`);
    process.exit(2);
  }
  if (config === "help") {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  // Logs go to stderr as JSON lines; stdout carries only what a human needs (address, first admin token).
  const logger = pino(
    { level: config.logLevel, redact: ["req.headers.authorization", "*.secret", "*.token", "*.password"] },
    pino.destination(2),
  );
  if (config.workers > 1 && cluster.isPrimary) {
    await runPrimary(config, logger);
    return;
  }
  try {
    const { stop } = await startServer(config, logger);
    // `on`, not `once`: a supervisor may signal the whole process group and npm forwards the
    // same signal again — a second SIGTERM must not kill us mid-shutdown (stop() is idempotent).
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.on(signal, () => {
        stop().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, "shutdown failed");
            process.exit(1);
          },
        );
      });
    }
  } catch (error) {
    process.stderr.write(`cloudedge-server: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) void main();
