// A small SVG chart builder (lines and grouped bars, linear or log axes): enough for the
// bench's plots without a charting dependency.
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];
const W = 860;
const H = 480;
const M = { left: 80, right: 180, top: 50, bottom: 60 };
const esc = (s) =>
  String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function niceTicks(min, max, count = 6) {
  const span = max - min || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function axis(min, max, log, from, to) {
  if (log) {
    const lo = Math.log10(min);
    const hi = Math.log10(max);
    const scale = (v) => from + ((Math.log10(Math.max(v, min)) - lo) / (hi - lo || 1)) * (to - from);
    const ticks = [];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++)
      if (10 ** e >= min * 0.999 && 10 ** e <= max * 1.001) ticks.push(10 ** e);
    return { scale, ticks };
  }
  const scale = (v) => from + ((v - min) / (max - min || 1)) * (to - from);
  return { scale, ticks: niceTicks(min, max) };
}

const label = (v) => (Math.abs(v) >= 10_000 ? `${v / 1000}k` : `${v}`);

function frame(title, xLabel, yLabel, x, y, series, body) {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="28" font-size="17" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const t of y.ticks) {
    const py = y.scale(t);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py}" y2="${py}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${M.left - 8}" y="${py + 4}" text-anchor="end">${esc(label(t))}</text>`);
  }
  for (const t of x.ticks ?? []) {
    const px = x.scale(t);
    parts.push(`<line x1="${px}" x2="${px}" y1="${M.top}" y2="${H - M.bottom}" stroke="#f3f4f6"/>`);
    parts.push(`<text x="${px}" y="${H - M.bottom + 18}" text-anchor="middle">${esc(label(t))}</text>`);
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#9ca3af"/>`,
  );
  parts.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 16}" text-anchor="middle">${esc(xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(20 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  parts.push(body);
  series.forEach((s, i) => {
    const ly = M.top + 10 + i * 22;
    parts.push(
      `<rect x="${W - M.right + 16}" y="${ly - 9}" width="14" height="10" fill="${COLORS[i % COLORS.length]}"/>`,
    );
    parts.push(`<text x="${W - M.right + 36}" y="${ly}">${esc(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** series: [{name, points: [[x, y], ...]}] */
export function lineChart({ title, xLabel, yLabel, series, logX = false, logY = false, yMin }) {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const x = axis(logX ? Math.min(...xs) : Math.min(0, ...xs), Math.max(...xs), logX, M.left, W - M.right);
  const yLo = yMin ?? (logY ? Math.min(...ys) : Math.min(0, ...ys));
  const y = axis(
    logY ? 10 ** Math.floor(Math.log10(yLo)) : yLo,
    logY ? 10 ** Math.ceil(Math.log10(Math.max(...ys))) : Math.max(...ys) * 1.05,
    logY,
    H - M.bottom,
    M.top,
  );
  const body = series
    .map((s, i) => {
      const color = COLORS[i % COLORS.length];
      const d = s.points
        .map((p, k) => `${k ? "L" : "M"}${x.scale(p[0]).toFixed(1)},${y.scale(p[1]).toFixed(1)}`)
        .join(" ");
      const dots =
        s.points.length <= 40
          ? s.points
              .map(
                (p) =>
                  `<circle cx="${x.scale(p[0]).toFixed(1)}" cy="${y.scale(p[1]).toFixed(1)}" r="3" fill="${color}"/>`,
              )
              .join("")
          : "";
      return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>${dots}`;
    })
    .join("\n");
  return frame(title, xLabel, yLabel, x, y, series, body);
}

/** groups: category labels; series: [{name, values: [per group]}] */
export function barChart({ title, xLabel, yLabel, groups, series, logY = false }) {
  const ys = series.flatMap((s) => s.values).filter((v) => v > 0);
  const lo = logY ? 10 ** Math.floor(Math.log10(Math.min(...ys))) : 0;
  const hi = logY ? 10 ** Math.ceil(Math.log10(Math.max(...ys))) : Math.max(...ys) * 1.1;
  const y = axis(lo, hi, logY, H - M.bottom, M.top);
  const plotW = W - M.left - M.right;
  const groupW = plotW / groups.length;
  const barW = (groupW * 0.8) / series.length;
  const bars = [];
  groups.forEach((g, gi) => {
    const gx = M.left + gi * groupW + groupW * 0.1;
    bars.push(
      `<text x="${M.left + gi * groupW + groupW / 2}" y="${H - M.bottom + 18}" text-anchor="middle">${esc(g)}</text>`,
    );
    series.forEach((s, si) => {
      const v = s.values[gi];
      if (!(v > 0)) return;
      const top = y.scale(v);
      const x0 = gx + si * barW;
      bars.push(
        `<rect x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(H - M.bottom - top).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`,
      );
      bars.push(
        `<text x="${(x0 + barW / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="10">${esc(v >= 100 ? Math.round(v) : Number(v.toPrecision(3)))}</text>`,
      );
    });
  });
  return frame(title, xLabel, yLabel, { scale: () => 0, ticks: [] }, y, series, bars.join("\n"));
}
