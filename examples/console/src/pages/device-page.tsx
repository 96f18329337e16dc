import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { seg } from "../api/client";
import type { Device, Status } from "../api/types";
import { Link } from "../components/link";
import { Presence } from "../components/presence";
import { ErrorBox } from "../components/problem";
import { useApp } from "../context";
import { Feed } from "../feed";
import { useEvents } from "../hooks";
import { CommandsPanel } from "./device/commands-panel";
import { EventLog } from "./device/event-log";
import { Identity } from "./device/identity";
import { StatePanel } from "./device/state-panel";
import { StatusCharts } from "./device/status-charts";

/** One device: identity, live status charts, state, commands, event log. */
export function DevicePage({ id }: { id: string }) {
  const { api } = useApp();
  const [device, setDevice] = useState<Device | undefined>();
  const [error, setError] = useState<unknown>();
  const feed = useMemo(() => new Feed(), []);

  const load = useCallback(async () => {
    try {
      setDevice(await api.get<Device>(`/api/v1/devices/${seg(id)}`));
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  }, [api, id]);

  useEffect(() => {
    void load();
  }, [load]);

  const live = useEvents(
    { deviceId: id },
    (event) => {
      if (event.type === "presence") {
        setDevice(
          (d) =>
            d && {
              ...d,
              online: event.online,
              lastSeenAt: event.at,
              connectedAt: event.online ? event.at : d.connectedAt,
            },
        );
      } else if (event.type === "status") {
        const status: Status = { ...event.status.data, deviceId: event.deviceId, ts: event.status.ts };
        setDevice(
          (d) => d && { ...d, status, lastSeenAt: Math.max(d.lastSeenAt ?? 0, event.status.receivedAt) },
        );
      }
      feed.emit(event);
    },
    () => {
      void load();
      feed.emit({ type: "resync" });
    },
  );

  if (!device) {
    return (
      <section>
        <p>
          <Link href="/">← Devices</Link>
        </p>
        {error ? <ErrorBox error={error} title="Could not load the device" /> : <p class="muted">Loading…</p>}
      </section>
    );
  }

  return (
    <div class="device-page">
      <p class="crumbs">
        <Link href="/">← Devices</Link>
      </p>
      <div class="page-head">
        <h1 id="device-title">{device.name}</h1>
        <Presence online={device.online} disabled={device.disabled} />
        <span class={`live ${live}`} role="status">
          {live === "open" ? "Live" : live === "connecting" ? "Reconnecting…" : "Not live"}
        </span>
      </div>
      <nav class="toc" aria-label="Sections">
        <a href="#identity">Identity</a>
        <a href="#status">Status</a>
        <a href="#state">State</a>
        <a href="#commands">Commands</a>
        <a href="#events">Event log</a>
      </nav>
      <ErrorBox error={error} />
      <Identity device={device} feed={feed} />
      <StatusCharts deviceId={id} feed={feed} />
      <StatePanel deviceId={id} feed={feed} />
      <CommandsPanel deviceId={id} feed={feed} online={device.online} />
      <EventLog deviceId={id} feed={feed} />
    </div>
  );
}
