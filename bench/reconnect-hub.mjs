// The hub under test, in its own process: memory store, N devices sharing one bcrypt hash
// (cost 10, as in production) so set-up does not spend minutes hashing.
import { createServer } from "node:http";
import { Cloud, createMemoryStore, hashSecret } from "@cloudedge/cloud-sdk";

const devices = Number(process.env.DEVICES ?? 5000);
const acceptTokens = process.env.ACCEPT_TOKENS !== "0";
const store = createMemoryStore();
const secret = "bench-secret-0123456789";
const secretHash = await hashSecret(secret, 10);
const ids = [];
for (let i = 0; i < devices; i++) {
  const id = String(1_000_000_000_000n + BigInt(i));
  await store.devices.create({ id, name: `d${i}`, secretHash, createdAt: Date.now() });
  ids.push(id);
}
const cloud = new Cloud({
  store,
  tokenKey: "bench-key-".repeat(8),
  auth: { acceptTokens, perAddress: { maxFailures: 1e9, windowMs: 1, lockMs: 1 } },
  hub: { heartbeatMs: 60_000, maxHandshakes: 100_000, maxSessions: 100_000 },
});
await cloud.start();
const server = createServer();
cloud.attach(server, "/ws");
server.listen(0, "127.0.0.1", () => {
  process.send({ port: server.address().port, ids, secret });
});
process.on("message", (message) => {
  if (message === "stats") process.send({ stats: cloud.hub.stats, rss: process.memoryUsage().rss });
  if (message === "exit") process.exit(0);
});
