// Cell formatting shared by the targets table and the per-scenario sections.
export const fmt = (value, unit = "") =>
  value === null || value === undefined || Number.isNaN(value)
    ? "—"
    : `${typeof value === "number" ? value.toLocaleString("en") : value}${unit}`;

export const met = (ok) => (ok === undefined ? "—" : ok ? "yes" : "**no**");

export const table = (header, rows) => [
  `| ${header.join(" | ")} |`,
  `| ${header.map(() => "---").join(" | ")} |`,
  ...rows.map((row) => `| ${row.map((cell) => fmt(cell)).join(" | ")} |`),
];

export const stamp = (result) => [`${result.date.slice(0, 10)}, ${result.runS} s: \`${result.command}\``, ""];
