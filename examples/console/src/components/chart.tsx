import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: Array<number | null>;
}

const PALETTE = ["--chart-1", "--chart-2", "--chart-3", "--chart-4", "--chart-5", "--chart-6"];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/**
 * A uPlot time-series chart sized to its container. `xs` are epoch seconds. The plot is
 * rebuilt only when the set of series changes; new points go through setData.
 */
export function Chart(props: {
  id: string;
  title: string;
  xs: number[];
  series: Series[];
  unit: (value: number) => string;
  max?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = props.series.map((s) => s.label).join("\u0000");
  const data = (): uPlot.AlignedData => [props.xs, ...props.series.map((s) => s.values)];

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid"), width: 1 } };
    const build = () => {
      plot.current?.destroy();
      plot.current = new uPlot(
        {
          width: Math.max(200, el.clientWidth),
          height: 180,
          legend: { show: true },
          cursor: { drag: { x: false, y: false } },
          scales: {
            y:
              props.max !== undefined
                ? { range: [0, props.max] }
                : { range: (_u, _min, max) => [0, max * 1.1 || 1] },
          },
          axes: [axis, { ...axis, size: 70, values: (_u, ticks) => ticks.map((t) => props.unit(t)) }],
          series: [
            {},
            ...props.series.map((s, i) => ({
              label: s.label,
              stroke: cssVar(PALETTE[i % PALETTE.length] as string),
              width: 2,
              points: { show: true, size: 4 },
              value: (_u: uPlot, v: number | null) => (v === null ? "–" : props.unit(v)),
            })),
          ],
        },
        data(),
        el,
      );
    };
    build();
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 180 }),
    );
    resize.observe(el);
    const scheme = matchMedia("(prefers-color-scheme: dark)");
    scheme.addEventListener("change", build);
    return () => {
      resize.disconnect();
      scheme.removeEventListener("change", build);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [labels, props.max]);

  useEffect(() => {
    plot.current?.setData(data());
  });

  return (
    <figure class="chart" data-testid={`chart-${props.id}`} data-points={props.xs.length}>
      <figcaption>{props.title}</figcaption>
      <div ref={box} role="img" aria-label={`${props.title}: ${props.xs.length} points`} />
      {props.xs.length === 0 && <p class="muted small">No reports in this window.</p>}
    </figure>
  );
}
