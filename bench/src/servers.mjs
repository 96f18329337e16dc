// Starting the processes under test. Both run with --expose-gc so memory is read after GC.
import { hashSecret } from "@cloudedge/cloud-sdk";
import { FLEET_SECRET } from "./fleet-ids.mjs";
import { spawnReady } from "./ipc.mjs";
import { maxSessionsPerProcess } from "./servers/reference-server.mjs";

const SERVER_ARGV = ["--expose-gc", "--max-old-space-size=8192"];
let secretHash;

/** Extra flags for the process under test (e.g. --cpu-prof), set from the CLI's --profile. */
export const profiling = { execArgv: /** @type {string[]} */ ([]) };

/**
 * The hub under test. `db`: "memory", "sqlite:<path>" or a mysql:// URL.
 * @returns {Promise<{child: import("./ipc.mjs").Child, port: number, url: string, startMs: number}>}
 */
export async function startHub(options) {
  secretHash ??= await hashSecret(FLEET_SECRET, 10);
  const { child, info } = await spawnReady(
    new URL("./servers/hub-server.mjs", import.meta.url),
    {
      db: "memory",
      heartbeatMs: 30_000,
      acceptTokens: true,
      // CLOUDEDGE_BENCH_TRANSPORT=lean: the experimental adapter of servers/lean-transport.mjs.
      ...(process.env.CLOUDEDGE_BENCH_TRANSPORT ? { transport: process.env.CLOUDEDGE_BENCH_TRANSPORT } : {}),
      // CLOUDEDGE_BENCH_INDEX_COMMANDS=1: the experimental index of servers/indexed-commands.mjs.
      ...(process.env.CLOUDEDGE_BENCH_INDEX_COMMANDS === "1" ? { indexCommands: true } : {}),
      // CLOUDEDGE_BENCH_HUB_OPTIONS='{"maxHandshakes":4096}': hub options for an experiment.
      ...(process.env.CLOUDEDGE_BENCH_HUB_OPTIONS
        ? { hubOptions: JSON.parse(process.env.CLOUDEDGE_BENCH_HUB_OPTIONS) }
        : {}),
      ...options,
      maxSessions: Math.max(maxSessionsPerProcess(), options.devices + 100),
      secretHash,
    },
    [...SERVER_ARGV, ...profiling.execArgv],
  );
  const { port, startMs } = info;
  return { child, port, url: `ws://127.0.0.1:${port}/ws`, startMs };
}

/** The bare `ws` echo server baseline. */
export async function startEcho(options = {}) {
  const { child, info } = await spawnReady(new URL("./servers/echo-server.mjs", import.meta.url), options, [
    ...SERVER_ARGV,
    ...profiling.execArgv,
  ]);
  const { port } = info;
  return { child, port, url: `ws://127.0.0.1:${port}/ws` };
}

/** Asks a server to exit (so --cpu-prof profiles get written), killing it if it does not. */
export async function stopServer(server) {
  const timeout = setTimeout(() => void server.child.kill(), 10_000);
  await server.child.call("exit").catch(() => {});
  await server.child.exited;
  clearTimeout(timeout);
}
