// PNG charts from the results (people look at plots before tables): SVG built here,
// rendered to PNG by the system's Chromium through playwright-core (never a downloaded
// browser). Without Chromium the SVGs are still written.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { progress } from "../util.mjs";
import { readResults } from "./results.mjs";
import { barChart, lineChart } from "./svg.mjs";

const CHROMIUM = process.env.CLOUDEDGE_CHROMIUM ?? "/usr/bin/chromium";

export function chartSvgs(results) {
  const charts = {};
  const c = results.capacity?.figures;
  if (c) {
    charts.capacity = lineChart({
      title: `RSS after GC vs connections (${c.devices.toLocaleString("en")} devices)`,
      xLabel: "connections",
      yLabel: "RSS (MiB)",
      series: [
        { name: "cloudedge hub", points: c.hub.curve.map((p) => [p.connections, p.rssMiB]) },
        { name: "bare ws echo", points: c.ws.curve.map((p) => [p.connections, p.rssMiB]) },
      ],
    });
  }
  const h = results.heartbeat?.figures;
  if (h) {
    const pts = (x) =>
      x.steps
        .filter((s) => s.rate > 0)
        .sort((a, b) => a.rate - b.rate)
        .map((s) => [s.rate, s.answeredPerS]);
    charts.heartbeat = lineChart({
      title: `Heartbeats answered vs offered (${h.devices.toLocaleString("en")} devices)`,
      xLabel: "offered pings/s",
      yLabel: "pongs/s",
      series: [
        { name: "cloudedge hub", points: pts(h.hub) },
        { name: "bare ws echo", points: pts(h.ws) },
      ],
    });
  }
  const r = results.rpc?.figures;
  if (r) {
    const keys = [
      ["p50", "p50"],
      ["p90", "p90"],
      ["p99", "p99"],
      ["p999", "p99.9"],
    ];
    charts.rpc = barChart({
      title: `RPC latency percentiles per rate (${r.devices.toLocaleString("en")} devices, CO-corrected)`,
      xLabel: "commands/s",
      yLabel: "latency (ms, log)",
      groups: r.steps.map((s) => `${s.rate.toLocaleString("en")}/s`),
      series: keys.map(([key, name]) => ({ name, values: r.steps.map((s) => s.latencyMs[key]) })),
      logY: true,
    });
  }
  const s = results.storm?.figures;
  if (s) {
    const pts = (x) => [[0, 0], ...x.curve.map((p) => [p.ms / 1000, p.pct])];
    charts.storm = lineChart({
      title: "Back online after a hub kill (% of devices)",
      xLabel: "seconds since the kill",
      yLabel: "% online",
      series: [
        { name: `tokens (${s.tokens.devices})`, points: pts(s.tokens) },
        { name: `bcrypt (${s.bcrypt.devices})`, points: pts(s.bcrypt) },
      ],
    });
  }
  const st = results.status?.figures;
  if (st) {
    const series = ["mysql", "sqlite"]
      .filter((db) => st[db])
      .map((db) => ({
        name: db === "mysql" ? "MySQL (MariaDB)" : "SQLite",
        points: st[db].steps.map((x) => [x.rate, x.durablePerS]),
      }));
    charts.status = lineChart({
      title: "Status reports durable per second vs offered",
      xLabel: "offered reports/s",
      yLabel: "durable rows/s",
      series,
    });
  }
  return charts;
}

export async function renderCharts(out) {
  const charts = chartSvgs(readResults(out));
  for (const [name, svg] of Object.entries(charts)) writeFileSync(join(out, `${name}.svg`), svg);
  if (!existsSync(CHROMIUM)) {
    progress(`no Chromium at ${CHROMIUM}: wrote SVG charts only`);
    return Object.keys(charts);
  }
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 860, height: 480 } });
    for (const [name, svg] of Object.entries(charts)) {
      await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
      await page.locator("svg").screenshot({ path: join(out, `${name}.png`) });
    }
  } finally {
    await browser.close();
  }
  return Object.keys(charts);
}
