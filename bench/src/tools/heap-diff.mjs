#!/usr/bin/env node
// Where the hub's memory per connection goes: heap snapshots of the hub (and of the bare ws
// server) before and after N devices connect, grouped by constructor, per connection.
//   node bench/src/tools/heap-diff.mjs [devices=5000] [outDir=/tmp]
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { killAllChildren } from "../ipc.mjs";
import { Fleet } from "../load/fleet.mjs";
import { startEcho, startHub, stopServer } from "../servers.mjs";
import { progress, sleep } from "../util.mjs";

const devices = Number(process.argv[2] ?? 5_000);
const dir = process.argv[3] ?? "/tmp";
/** HEAP_DIFF_TRANSPORT=lean measures the experimental adapter of servers/lean-transport.mjs. */
const transport = process.env.HEAP_DIFF_TRANSPORT;
const targets = (process.env.HEAP_DIFF_TARGETS ?? "hub,ws").split(",");

/** Self size and count per (type, constructor) of a .heapsnapshot. */
function groups(file) {
  const snapshot = JSON.parse(readFileSync(file, "utf8"));
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const nodes = snapshot.nodes;
  const strings = snapshot.strings;
  const out = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    const name = ["object", "closure", "native", "hidden", "array", "code"].includes(type)
      ? `${type} ${strings[nodes[i + iName]].slice(0, 60)}`
      : type;
    const entry = out.get(name) ?? { size: 0, count: 0 };
    entry.size += nodes[i + iSize];
    entry.count++;
    out.set(name, entry);
  }
  return out;
}

async function measure(target) {
  const server =
    target === "hub"
      ? await startHub({ devices, heartbeatMs: 30_000, ...(transport ? { transport } : {}) })
      : await startEcho();
  const fleet = await new Fleet({
    devices,
    url: server.url,
    mode: target === "hub" ? "hub" : "echo",
  }).ready();
  try {
    await sleep(1_000);
    const before = join(dir, `${target}-before.heapsnapshot`);
    const after = join(dir, `${target}-after.heapsnapshot`);
    await server.child.call("heapSnapshot", { file: before });
    await fleet.connect();
    await sleep(2_000);
    await server.child.call("heapSnapshot", { file: after });
    progress(`${target}: snapshots written`);
    const a = groups(before);
    const b = groups(after);
    const diff = [];
    for (const [name, entry] of b) {
      const base = a.get(name) ?? { size: 0, count: 0 };
      diff.push({
        name,
        bytes: (entry.size - base.size) / devices,
        count: (entry.count - base.count) / devices,
      });
    }
    rmSync(before);
    rmSync(after);
    return diff.sort((x, y) => y.bytes - x.bytes);
  } finally {
    await fleet.close();
    await stopServer(server);
  }
}

try {
  for (const target of targets) {
    const diff = await measure(target);
    const total = diff.reduce((s, d) => s + d.bytes, 0);
    process.stdout.write(
      `\n${target}: ${total.toFixed(0)} heap bytes per connection; top groups (bytes, count per connection)\n`,
    );
    for (const d of diff.slice(0, 30)) {
      process.stdout.write(
        `${d.bytes.toFixed(1).padStart(9)}  ${d.count.toFixed(2).padStart(6)}  ${d.name}\n`,
      );
    }
  }
} finally {
  killAllChildren();
}
