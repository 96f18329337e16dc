#!/usr/bin/env node
// Top functions of a V8 .cpuprofile (from --profile DIR): self and inclusive time.
//   node bench/src/tools/profile-top.mjs <file.cpuprofile> [count]
import { readFileSync } from "node:fs";

const [file, countArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: profile-top.mjs <file.cpuprofile> [count]\n");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const hits = new Map();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = profile.samples.length;
const key = (node) => {
  const f = node.callFrame;
  const where = f.url
    ? `${f.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(packages|bench)\//, "$1/")}:${f.lineNumber + 1}`
    : "";
  return `${f.functionName || "(anonymous)"} ${where}`.trim();
};
const self = new Map();
const inclusive = new Map();
for (const [id, n] of hits) {
  const node = byId.get(id);
  self.set(key(node), (self.get(key(node)) ?? 0) + n);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + n);
  }
}
const count = Number(countArg ?? 25);
const show = (title, map) => {
  process.stdout.write(`${title} (of ${total} samples)\n`);
  for (const [k, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(`${((n / total) * 100).toFixed(1).padStart(6)} %  ${k}\n`);
  }
};
show("self", self);
show("inclusive", inclusive);
