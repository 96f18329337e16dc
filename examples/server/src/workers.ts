import cluster, { type Worker } from "node:cluster";
import { createIdGenerator, type Logger, openStore } from "@cloudedge/cloud-sdk";
import { bootstrapAdminToken, loadTokenKey } from "./bootstrap.js";
import type { ServerConfig } from "./config.js";
import { ApiTokens } from "./http/auth.js";
import { replayOtherJournals } from "./journals.js";

/**
 * `--workers N`: N hub processes share the port (node:cluster hands each new connection to
 * a worker); devices land on different workers and NATS routes commands between them.
 * The primary prepares what must exist once (token key, first admin token), starts the
 * workers, restarts a worker that dies, and on SIGTERM stops them all gracefully.
 */
export async function runPrimary(config: ServerConfig, logger: Logger): Promise<void> {
  const store = await openStore(config.db, { timeoutMs: config.dbTimeoutMs });
  // Journals of worker slots this run does not start (the count went down) are replayed here.
  await replayOtherJournals(
    store,
    config.dataDir,
    Array.from({ length: config.workers }, (_, i) => i + 1),
    logger,
  );
  const tokenKey = loadTokenKey(config.dataDir, config.tokenKey);
  const bootstrap = await bootstrapAdminToken(
    store,
    new ApiTokens(store, createIdGenerator(31)),
    config.dataDir,
    config.adminToken,
  );
  await store.close();

  let stopping = false;
  const spawn = (id: number): Worker => {
    // Worker ids keep Snowflake ids unique across processes; the key is shared so tokens verify anywhere.
    const worker = cluster.fork({ CLOUDEDGE_WORKER_ID: String(id), CLOUDEDGE_TOKEN_KEY: tokenKey });
    worker.once("exit", (code, signal) => {
      if (stopping) return;
      process.stderr.write(`cloudedge-server: worker ${id} exited (${signal ?? code}); restarting it\n`);
      setTimeout(() => spawn(id), 1_000);
    });
    return worker;
  };
  const workers = Array.from({ length: config.workers }, (_, i) => spawn(i + 1));
  let listening = 0;
  await new Promise<void>((resolve) => {
    cluster.on("listening", () => {
      if (++listening === config.workers) resolve();
    });
  });
  const scheme = config.tlsCert ? "https" : "http";
  process.stdout.write(
    `cloudedge server listening on ${scheme}://${config.host}:${config.port} with ${config.workers} workers (devices: ${config.tlsCert ? "wss" : "ws"}://<host>:${config.port}/ws)\n`,
  );
  if (bootstrap)
    process.stdout.write(
      `admin API token (shown once; also written to ${bootstrap.file}, mode 0600):\n  ${bootstrap.token}\n`,
    );

  const stop = () => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let left = alive.length;
    let failed = false;
    if (left === 0) process.exit(0);
    for (const worker of alive) {
      worker.once("exit", (code, signal) => {
        // A worker whose shutdown failed (lost buffered writes) fails the whole stop.
        if (code !== 0 || signal) failed = true;
        if (--left === 0) process.exit(failed ? 1 : 0);
      });
      worker.process.kill("SIGTERM");
    }
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  void workers;
}
