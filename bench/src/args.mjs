// Command line: npm run bench -- <scenario> [--devices N] [--rate R] [--duration S]
//   [--heartbeat-ms H] [--db sqlite|mysql] [--rounds N] [--json] [--out DIR] [--no-charts] [--profile]
import { parseArgs } from "node:util";

export const SCENARIOS = ["capacity", "heartbeat", "rpc", "storm", "status", "cluster", "fleet", "agent"];

export const USAGE = `usage: npm run bench -- <${[...SCENARIOS, "all"].join("|")}> [options]
  --devices N        devices (default: the open-files limit less 1,000, 19000 at 20,000; status: 2000)
  --rate R           fixed rate instead of the scenario's ramp (rpc: commands/s, heartbeat: pings/s,
                     status: reports/s); rpc also takes a list: --rate 500,2000,5000
  --duration S       seconds measured per step (default 5; agent: the window, default 60 — the issue's is 300)
  --heartbeat-ms H   heartbeat interval the hub announces (default 30000)
  --db sqlite|mysql  status: which store; cluster: the shared store (default: both)
  --rounds N         cluster: (same, cross) pairs per rate (default 5)
  --bcrypt-devices N storm: devices in the tokens-disabled (bcrypt) run (default min(devices, 2000))
  --workers N        fleet: the server's worker processes (default ceil(devices / (0.9 × max sessions)))
  --max-sessions N   fleet: sessions per server process (default: open-files limit, ulimit -n, less 1000)
  --json             print one JSON object with the figures as the last line
  --out DIR          where results go (default bench/results)
  --no-charts        skip the PNG charts
  --profile DIR      run the processes under test with --cpu-prof into DIR`;

export function parseCli(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      devices: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      "heartbeat-ms": { type: "string" },
      db: { type: "string" },
      "bcrypt-devices": { type: "string" },
      workers: { type: "string" },
      "max-sessions": { type: "string" },
      rounds: { type: "string" },
      json: { type: "boolean", default: false },
      out: { type: "string" },
      "no-charts": { type: "boolean", default: false },
      profile: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const scenario = positionals[0];
  if (values.help || !scenario || ![...SCENARIOS, "all"].includes(scenario)) {
    return { error: values.help ? undefined : `unknown scenario ${scenario ?? "(none)"}` };
  }
  const int = (name, value) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  const db = values.db;
  if (db !== undefined && db !== "sqlite" && db !== "mysql") throw new Error("--db must be sqlite or mysql");
  const rates = values.rate?.split(",").map((r) => int("rate", r));
  return {
    scenario,
    devices: int("devices", values.devices),
    rates,
    // Undefined when not given: the CLI applies the scenario's default.
    durationS: int("duration", values.duration),
    heartbeatMs: int("heartbeat-ms", values["heartbeat-ms"]) ?? 30_000,
    dbs: db ? [db] : ["mysql", "sqlite"],
    bcryptDevices: int("bcrypt-devices", values["bcrypt-devices"]),
    workers: int("workers", values.workers),
    maxSessions: int("max-sessions", values["max-sessions"]),
    rounds: int("rounds", values.rounds),
    json: values.json,
    out: values.out,
    charts: !values["no-charts"],
    profile: values.profile,
  };
}
