#!/usr/bin/env node
// Promises (and other async resources) created per command round trip in the hub:
// one Cloud over the memory store, one raw protocol device on a real WebSocket answering
// ack + result, N sequential `broker.call`s counted with async_hooks. Deterministic —
// unlike CPU time on a shared machine — so two trees compare exactly:
//   node bench/src/tools/promise-hops.mjs [ROOT] [--calls N] [--sites]
// ROOT: a checkout whose packages are built (default: this one); --sites also lists
// where the promises are created (the two innermost frames), per call. Also prints the
// CPU time per call (hub and device in this one process) — that one is noisy.
import { createHook } from "node:async_hooks";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { calls: { type: "string" }, sites: { type: "boolean" } },
});
const root = resolve(positionals[0] ?? fileURLToPath(new URL("../../..", import.meta.url)));
const calls = Number(values.calls ?? 3_000);
const sdk = await import(pathToFileURL(`${root}/packages/cloud-sdk/dist/index.js`).href);
const WebSocket = createRequire(`${root}/package.json`)("ws");

const secret = "hops-secret-0123456789";
const store = sdk.createMemoryStore();
await store.devices.create({
  id: "1001",
  name: "d",
  secretHash: await sdk.hashSecret(secret, 4),
  createdAt: Date.now(),
});
const cloud = new sdk.Cloud({ store, tokenKey: "k".repeat(64) });
await cloud.start();
const server = createServer();
cloud.attach(server, "/ws");
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/ws`, { perMessageDeflate: false });
const hello = {
  type: "hello",
  versions: [1],
  deviceId: "1001",
  secret,
  agent: { name: "hops", version: "1" },
};
await new Promise((resolve) => {
  ws.on("open", () => ws.send(JSON.stringify({ ...hello, bootId: "b", desiredVersion: 0 })));
  ws.on("message", (data) => {
    const pdu = JSON.parse(data.toString());
    if (pdu.type === "welcome") resolve();
    if (pdu.type !== "cmd") return;
    ws.send(JSON.stringify({ type: "ack", id: pdu.id }));
    ws.send(JSON.stringify({ type: "result", id: pdu.id, ok: true, data: pdu.params ?? null }));
  });
});

const counts = {};
const sites = new Map();
let counting = false;
let inHook = false;
const run = async (n) => {
  for (let i = 0; i < n; i++) await cloud.broker.call("1001", "bench.echo", { i }, { timeoutMs: 10_000 });
};
await run(500); // warm-up, not counted
// CPU per call before any hook exists (async_hooks slow promises down); noisy on a shared machine.
const cpuBefore = process.cpuUsage();
await run(calls);
const cpu = process.cpuUsage(cpuBefore);
const cpuPerCallUs = Math.round(((cpu.user + cpu.system) / calls) * 10) / 10;

createHook({
  init(_id, type) {
    if (!counting || inHook) return;
    counts[type] = (counts[type] ?? 0) + 1;
    if (!values.sites || type !== "PROMISE") return;
    inHook = true; // new Error() below must not count itself
    const frames = new Error().stack
      .split("\n")
      .filter(
        (line) => line.includes(" at ") && !line.includes("node:internal") && !line.includes("promise-hops"),
      )
      .slice(0, 2)
      .map((line) =>
        line
          .trim()
          .replace(/^at /, "")
          .replace(/\(.*\/(dist|node_modules)\//, "($1/"),
      );
    const key = frames.join(" < ");
    sites.set(key, (sites.get(key) ?? 0) + 1);
    inHook = false;
  },
}).enable();

counting = true;
await run(calls);
counting = false;
const per = (n) => Math.round((n / calls) * 100) / 100;
const created = Object.entries(counts).map(([type, n]) => `${type} ${per(n)}`);
console.log(`${root}: per call ${created.join(", ")}; cpu ${cpuPerCallUs} µs (hub and device)`);
if (values.sites)
  for (const [site, n] of [...sites].sort((a, b) => b[1] - a[1]))
    if (per(n) >= 0.1) console.log(`  ${per(n)}\t${site}`);
ws.close();
await cloud.close();
server.close();
