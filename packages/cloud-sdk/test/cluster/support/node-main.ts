/**
 * Entry of a hub node run as a child process by the SIGKILL test (bundled by
 * child-nodes.ts): starts one cluster node from env and prints `{"url": …}` when ready.
 * Exits when its parent goes away (IPC disconnect), so a crashed test leaves nothing behind.
 */
import { startClusterNode } from "./cluster-node.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const node = await startClusterNode({
  nodeId: env("NODE_ID"),
  storeUrl: env("STORE_URL"),
  natsUrl: env("NATS_URL"),
  prefix: env("PREFIX"),
});
process.stdout.write(`${JSON.stringify({ url: node.url })}\n`);
process.on("SIGTERM", () => void node.stop().finally(() => process.exit(0)));
process.on("disconnect", () => process.exit(0));
