// The human-readable summary printed without --json.
import { targetRows } from "./targets.mjs";

export function printTable(figures) {
  const results = Object.fromEntries(Object.entries(figures).map(([name, f]) => [name, { figures: f }]));
  const rows = targetRows(results);
  const widths = [10, 72, 60];
  const line = (cells) =>
    cells
      .map((cell, i) =>
        String(cell)
          .replaceAll("**", "")
          .padEnd(widths[i] ?? 6),
      )
      .join("  ");
  process.stdout.write(`${line(["scenario", "target", "measured", "met"])}\n`);
  for (const row of rows)
    process.stdout.write(`${line([row.scenario, row.target, row.measured, row.met])}\n`);
}
