#!/usr/bin/env node
// The one entry point: npm run bench -- <scenario> [options] (see args.mjs).
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseCli, SCENARIOS, USAGE } from "./args.mjs";
import { killAllChildren } from "./ipc.mjs";
import { renderCharts } from "./report/charts.mjs";
import { writeReadme, writeResult } from "./report/results.mjs";
import { printTable } from "./report/table.mjs";
import { agent } from "./scenarios/agent.mjs";
import { capacity } from "./scenarios/capacity.mjs";
import { cluster } from "./scenarios/cluster.mjs";
import { fleet } from "./scenarios/fleet.mjs";
import { heartbeat } from "./scenarios/heartbeat.mjs";
import { rpc } from "./scenarios/rpc.mjs";
import { status } from "./scenarios/status.mjs";
import { storm } from "./scenarios/storm.mjs";
import { maxSessionsPerProcess } from "./servers/reference-server.mjs";
import { profiling } from "./servers.mjs";
import { progress } from "./util.mjs";

/** Devices per scenario unless --devices says otherwise. */
const DEFAULT_DEVICES = { status: 2_000, cluster: 2_000, fleet: 100_000 };
/** Seconds measured per step unless --duration says otherwise. */
const DEFAULT_DURATION_S = { agent: 60 };

const RUNNERS = { capacity, heartbeat, rpc, storm, status, cluster, fleet, agent };

async function main() {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (!cli.scenario) {
    process.stderr.write(`${cli.error ? `${cli.error}\n` : ""}${USAGE}\n`);
    return cli.error ? 2 : 0;
  }
  const out = resolve(cli.out ?? new URL("../results", import.meta.url).pathname);
  mkdirSync(out, { recursive: true });
  if (cli.profile) {
    mkdirSync(resolve(cli.profile), { recursive: true });
    profiling.execArgv = ["--cpu-prof", `--cpu-prof-dir=${resolve(cli.profile)}`];
  }
  const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`;
  const scenarios = cli.scenario === "all" ? SCENARIOS : [cli.scenario];
  const figures = {};
  for (const name of scenarios) {
    const started = Date.now();
    const options = {
      devices: cli.devices ?? DEFAULT_DEVICES[name] ?? maxSessionsPerProcess(),
      rates: cli.rates,
      durationS: cli.durationS ?? DEFAULT_DURATION_S[name] ?? 5,
      heartbeatMs: cli.heartbeatMs,
      dbs: cli.dbs,
      bcryptDevices: cli.bcryptDevices,
      workers: cli.workers,
      maxSessions: cli.maxSessions,
      rounds: cli.rounds,
    };
    const result = await RUNNERS[name](options);
    const runS = Math.round((Date.now() - started) / 1000);
    progress(`${name}: done in ${runS} s`);
    figures[name] = result;
    writeResult(out, name, { command, options, runS, figures: result });
  }
  const readme = writeReadme(out);
  if (cli.charts) await renderCharts(out);
  progress(`results in ${out}${readme ? " (README.md updated)" : ""}`);
  if (cli.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else printTable(figures);
  return 0;
}

main().then(
  (code) => {
    killAllChildren();
    process.exit(code);
  },
  (error) => {
    process.stderr.write(`bench failed: ${error?.stack ?? error}\n`);
    killAllChildren();
    process.exit(1);
  },
);
