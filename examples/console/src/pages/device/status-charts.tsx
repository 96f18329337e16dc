import { useEffect, useMemo, useState } from "preact/hooks";
import { seg } from "../../api/client";
import type { Status } from "../../api/types";
import { Chart } from "../../components/chart";
import { ErrorBox } from "../../components/problem";
import { useApp } from "../../context";
import type { Feed } from "../../feed";
import { useFeed } from "../../feed";

const WINDOWS = [
  { label: "15 min", ms: 15 * 60_000 },
  { label: "1 hour", ms: 3_600_000 },
  { label: "6 hours", ms: 6 * 3_600_000 },
  { label: "24 hours", ms: 86_400_000 },
  { label: "7 days", ms: 7 * 86_400_000 },
];
const MAX_DISKS = 6;
const percent = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} %`;

const memoryPercent = (s: Status) => {
  const { usedBytes, totalBytes } = s.memory ?? {};
  return usedBytes !== undefined && totalBytes ? (usedBytes / totalBytes) * 100 : null;
};
const diskPercent = (s: Status, mount: string) => {
  const disk = s.disks?.find((d) => d.mount === mount);
  if (!disk) return null;
  if (typeof disk.usePercent === "number") return disk.usePercent;
  return disk.usedBytes !== undefined && disk.totalBytes ? (disk.usedBytes / disk.totalBytes) * 100 : null;
};

/** CPU, memory and per-disk charts over a chosen window: history from the API, then live reports. */
export function StatusCharts({ deviceId, feed }: { deviceId: string; feed: Feed }) {
  const { api } = useApp();
  const [windowMs, setWindowMs] = useState(WINDOWS[1]?.ms as number);
  const [reports, setReports] = useState<Status[]>([]);
  const [error, setError] = useState<unknown>();
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let stale = false;
    api
      .get<{ items: Status[] }>(`/api/v1/devices/${seg(deviceId)}/status/history`, {
        from: Date.now() - windowMs,
        // Newest first, so a window with more than 10,000 reports loses its oldest end, not its newest.
        order: "desc",
        limit: 10_000,
      })
      .then((page) => {
        if (stale) return;
        setReports(page.items.reverse());
        setError(undefined);
      })
      .catch((e) => !stale && setError(e));
    return () => {
      stale = true;
    };
  }, [api, deviceId, windowMs, reload]);

  useFeed(feed, (event) => {
    if (event.type === "resync") setReload((n) => n + 1);
    if (event.type !== "status") return;
    const report: Status = { ...event.status.data, deviceId, ts: event.status.ts };
    setReports((list) => {
      const from = Date.now() - windowMs;
      // Reports from an outbox arrive late with old timestamps: keep the list in time order.
      const next = [...list.filter((r) => r.ts >= from && r.ts !== report.ts), report];
      return next.sort((a, b) => a.ts - b.ts);
    });
  });

  const { xs, cpu, memory, disks, hidden } = useMemo(() => {
    const sizes = new Map<string, number>();
    for (const r of reports)
      for (const d of r.disks ?? [])
        if (d.mount) sizes.set(d.mount, Math.max(sizes.get(d.mount) ?? 0, d.totalBytes ?? 0));
    const mounts = [...sizes.entries()].sort((a, b) => b[1] - a[1]).map(([m]) => m);
    return {
      xs: reports.map((r) => r.ts / 1000),
      cpu: [{ label: "CPU", values: reports.map((r) => r.cpu?.usagePercent ?? null) }],
      memory: [{ label: "Memory used", values: reports.map(memoryPercent) }],
      disks: mounts
        .slice(0, MAX_DISKS)
        .map((m) => ({ label: m, values: reports.map((r) => diskPercent(r, m)) })),
      hidden: Math.max(0, mounts.length - MAX_DISKS),
    };
  }, [reports]);

  return (
    <section id="status" class="card" aria-labelledby="status-title">
      <div class="section-head">
        <h2 id="status-title">Status</h2>
        <label class="inline">
          Window{" "}
          <select value={String(windowMs)} onChange={(e) => setWindowMs(Number(e.currentTarget.value))}>
            {WINDOWS.map((w) => (
              <option key={w.ms} value={String(w.ms)}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <span class="muted small" data-testid="report-count">
          {reports.length} reports
        </span>
      </div>
      <ErrorBox error={error} />
      <div class="charts">
        <Chart id="cpu" title="CPU %" xs={xs} series={cpu} unit={percent} max={100} />
        <Chart id="memory" title="Memory used %" xs={xs} series={memory} unit={percent} max={100} />
        <Chart id="disks" title="Disks used %" xs={xs} series={disks} unit={percent} max={100} />
      </div>
      {hidden > 0 && <p class="muted small">{hidden} smaller disks not charted.</p>}
    </section>
  );
}
