// results/<scenario>.json (one per scenario, with date, machine and the exact command) and
// results/README.md, the table of figures against the targets, rebuilt from them.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SCENARIOS } from "../args.mjs";
import { machineFacts } from "./machine.mjs";
import { detailSections, targetRows } from "./targets.mjs";

/** The commit measured, and whether packages/ had uncommitted changes at the time. */
export function sourceFacts() {
  try {
    const git = (args) =>
      execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return {
      commit: git(["rev-parse", "--short", "HEAD"]),
      packagesDirty: git(["status", "--porcelain", "--", "packages"]) !== "",
    };
  } catch {
    return undefined;
  }
}

export function writeResult(out, scenario, { command, options, runS, figures }) {
  const record = {
    scenario,
    date: new Date().toISOString(),
    machine: machineFacts(),
    source: sourceFacts(),
    command,
    options,
    runS,
    figures,
  };
  writeFileSync(join(out, `${scenario}.json`), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

export function readResults(out) {
  const results = {};
  for (const name of SCENARIOS) {
    const file = join(out, `${name}.json`);
    if (existsSync(file)) results[name] = JSON.parse(readFileSync(file, "utf8"));
  }
  return results;
}

export function writeReadme(out) {
  const results = readResults(out);
  const any = Object.values(results)[0];
  if (!any) return false;
  const m = any.machine;
  const lines = [
    "# Benchmark results",
    "",
    "Produced by `npm run bench` (bench/src/cli.mjs); this file is regenerated from the JSON files beside it.",
    "Every figure is a same-run measurement on one shared, noisy machine: compare ratios and medians,",
    "not absolute times. Analysis of what bounds each figure: [NOTES.md](NOTES.md).",
    "",
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}, ` +
      `${m.openFilesPerProcess.toLocaleString("en")} open files per process.`,
    "",
    "## Targets",
    "",
    "| scenario | target | measured | met |",
    "| --- | --- | --- | --- |",
    ...targetRows(results).map((r) => `| ${r.scenario} | ${r.target} | ${r.measured} | ${r.met} |`),
    "",
    ...detailSections(results),
  ];
  writeFileSync(join(out, "README.md"), `${lines.join("\n")}\n`);
  return true;
}
