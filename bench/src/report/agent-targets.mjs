// The agent scenario's rows of the targets table (issue 19) and its own section.
import { fmt, met, stamp, table } from "./format.mjs";

/** One row per agent target; ratios are against the floor measured in the same run. */
export function agentRows(results) {
  const a = results.agent?.figures;
  if (!a) return [];
  return [
    {
      scenario: "agent",
      target: "CPU per status report at a 1 s interval ≤ 2 × the floor and ≤ 5 ms",
      measured:
        `${fmt(a.perReport1sMs, " ms")} vs floor ${fmt(a.floorPerReport1sMs, " ms")} = ${fmt(a.perReportRatio)} × ` +
        `(old collector: ${fmt(a.legacyPerReport1sMs, " ms")})`,
      met: met(a.perReportRatio === undefined ? undefined : a.perReportRatio <= 2 && a.perReport1sMs <= 5),
    },
    {
      scenario: "agent",
      target: `agent CPU at the default intervals ≤ 0.2 % of a core (window ${fmt(a.windowS, " s")}; the issue's is 300 s)`,
      measured: `${fmt(a.defaultCpuPct, " %")} (floor ${fmt(a.floorDefaultCpuPct, " %")})`,
      met: met(a.defaultCpuPct <= 0.2),
    },
    {
      scenario: "agent",
      target: `RSS ≤ 1.3 × the floor's (after ${fmt(a.windowS, " s")}; the issue's is 10 min)`,
      measured: `${fmt(a.rssMiB, " MiB")} vs floor ${fmt(a.floorRssMiB, " MiB")} = ${fmt(a.rssRatio)} ×`,
      met: met(a.rssRatio === undefined ? undefined : a.rssRatio <= 1.3),
    },
    {
      scenario: "agent",
      target: "start-up to online (process start → welcome), what `npm run agent` runs and the bundle",
      measured:
        `dist/main.js ${fmt(a.onlineMs, " ms")}, bundle ${fmt(a.bundleOnlineMs, " ms")} ` +
        `(bundle RSS ${fmt(a.bundleRssMiB, " MiB")}, CPU at the defaults ${fmt(a.bundleCpuPct, " %")})`,
      met: met(undefined),
    },
  ];
}

/** The per-process table of the agent run. */
export function agentSection(results) {
  const a = results.agent;
  if (!a) return [];
  return [
    "## agent",
    "",
    ...stamp(a),
    ...table(
      [
        "process",
        "interval (ms)",
        "window (s)",
        "CPU (ms)",
        "CPU % of a core",
        "CPU ms / report",
        "RSS (MiB)",
        "online in (ms)",
      ],
      a.figures.rows.map((r) => [
        r.name,
        r.intervalMs,
        r.windowS,
        r.cpuMs,
        r.cpuPct,
        r.cpuMsPerReport,
        r.rssMiB,
        r.onlineMs,
      ]),
    ),
    "",
  ];
}
