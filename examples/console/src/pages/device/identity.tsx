import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { seg } from "../../api/client";
import type { Device, DeviceEvent, Group, Page } from "../../api/types";
import { JsonBlock } from "../../components/json-block";
import { Link } from "../../components/link";
import { Labels } from "../../components/presence";
import { useApp } from "../../context";
import type { Feed } from "../../feed";
import { useFeed } from "../../feed";
import { formatAgo, formatBytes, formatDuration, formatTime } from "../../format";
import { useNow } from "../../hooks";

const KNOWN = new Set(["deviceId", "ts", "receivedAt", "cpu", "memory", "disks", "uptimeS"]);

/** Who the device is (hardware, software, labels, groups), its latest report, its presence history. */
export function Identity({ device, feed }: { device: Device; feed: Feed }) {
  const { api } = useApp();
  const now = useNow(5000);
  const [groups, setGroups] = useState<Group[]>([]);
  const [presence, setPresence] = useState<DeviceEvent[]>([]);

  useEffect(() => {
    Promise.all(device.groupIds.map((g) => api.get<Group>(`/api/v1/groups/${seg(g)}`).catch(() => undefined)))
      .then((list) => setGroups(list.filter((g): g is Group => g !== undefined)))
      .catch(() => {});
  }, [api, device.groupIds.join(",")]);

  const loadPresence = () =>
    api
      .get<Page<DeviceEvent>>(`/api/v1/devices/${seg(device.id)}/events`, {
        kind: "connected,disconnected",
        limit: 10,
      })
      .then((page) => setPresence(page.items))
      .catch(() => {});
  useEffect(() => void loadPresence(), [device.id]);
  useFeed(feed, (event) => {
    if (event.type === "presence" || event.type === "resync") setTimeout(() => void loadPresence(), 300);
  });

  const status = device.status;
  const extras = status ? Object.entries(status).filter(([key]) => !KNOWN.has(key)) : [];
  const memory = status?.memory;

  return (
    <section id="identity" class="grid-2" aria-label="Identity">
      <div class="card">
        <h2>Identity</h2>
        <dl class="facts">
          <dt>Id</dt>
          <dd class="mono">{device.id}</dd>
          <dt>Type</dt>
          <dd>{device.type || "–"}</dd>
          <dt>Description</dt>
          <dd>{device.description || "–"}</dd>
          <dt>Labels</dt>
          <dd>
            <Labels labels={device.labels} />
          </dd>
          <dt>Groups</dt>
          <dd>
            {groups.length === 0
              ? "–"
              : groups.map((g, i) => (
                  <span key={g.id}>
                    {i > 0 && ", "}
                    <Link href={`/groups/${g.id}`}>{g.name}</Link>
                  </span>
                ))}
          </dd>
          <dt>Serial / model</dt>
          <dd>
            {device.hardware.serialNumber ?? "–"} / {device.hardware.model ?? "–"}
          </dd>
          <dt>Network</dt>
          <dd>
            {device.hardware.nics.length === 0
              ? "–"
              : device.hardware.nics
                  .map((n) => [n.name ?? n.type, n.mac, n.ipv4].filter(Boolean).join(" "))
                  .join("; ")}
          </dd>
          <dt>Software</dt>
          <dd>
            {device.software.version ?? "–"}
            {device.software.lastUpdate ? ` (updated ${formatTime(device.software.lastUpdate)})` : ""}
          </dd>
          <dt>Connected</dt>
          <dd>{device.online ? formatTime(device.connectedAt) : "–"}</dd>
          <dt>Last seen</dt>
          <dd title={formatTime(device.lastSeenAt)}>
            {device.online ? "now" : formatAgo(device.lastSeenAt, now)}
          </dd>
          <dt>Registered</dt>
          <dd>{formatTime(device.createdAt)}</dd>
        </dl>
      </div>
      <div class="card">
        <h2>Latest status</h2>
        {!status ? (
          <p class="muted">No report yet.</p>
        ) : (
          <>
            <dl class="facts" data-testid="latest-status">
              <dt>Reported</dt>
              <dd>{formatTime(status.ts)}</dd>
              <dt>CPU</dt>
              <dd>
                {status.cpu?.usagePercent !== undefined ? `${status.cpu.usagePercent.toFixed(1)} %` : "–"}
                {status.cpu?.cores ? ` of ${status.cpu.cores} cores` : ""}
              </dd>
              <dt>Memory</dt>
              <dd>
                {memory ? `${formatBytes(memory.usedBytes)} of ${formatBytes(memory.totalBytes)}` : "–"}
              </dd>
              <dt>Uptime</dt>
              <dd>{formatDuration(status.uptimeS)}</dd>
              {(status.disks ?? []).slice(0, 8).map((d) => (
                <Fragment key={d.mount}>
                  <dt>Disk {d.mount ?? "?"}</dt>
                  <dd>
                    {formatBytes(d.usedBytes)} of {formatBytes(d.totalBytes)}
                  </dd>
                </Fragment>
              ))}
            </dl>
            {extras.length > 0 && (
              <details>
                <summary>Other fields ({extras.length})</summary>
                <JsonBlock value={Object.fromEntries(extras)} label="Other status fields" />
              </details>
            )}
          </>
        )}
        <h3>Presence history</h3>
        {presence.length === 0 ? (
          <p class="muted">No connections yet.</p>
        ) : (
          <ul class="timeline" data-testid="presence-history">
            {presence.map((e) => (
              <li key={e.id}>
                <span class={e.kind === "connected" ? "ok" : "bad"}>{e.kind}</span>{" "}
                <span class="muted">{formatTime(e.ts)}</span>
                {e.reason && e.reason !== "connected" ? ` — ${e.reason}` : ""}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
