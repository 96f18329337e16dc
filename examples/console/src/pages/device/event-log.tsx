import { useEffect, useRef, useState } from "preact/hooks";
import { seg } from "../../api/client";
import type { DeviceEvent, Page } from "../../api/types";
import { ErrorBox } from "../../components/problem";
import { useApp } from "../../context";
import type { Feed } from "../../feed";
import { useFeed } from "../../feed";
import { formatTime } from "../../format";

const KINDS = [
  "connected",
  "disconnected",
  "auth_failed",
  "command",
  "state",
  "registered",
  "updated",
  "secret_rotated",
];

/** The device's log (newest first), filterable by kind, refreshed when something happens. */
export function EventLog({ deviceId, feed }: { deviceId: string; feed: Feed }) {
  const { api } = useApp();
  const [events, setEvents] = useState<DeviceEvent[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [kind, setKind] = useState("");
  const [error, setError] = useState<unknown>();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const load = async (after?: string) => {
    try {
      const page = await api.get<Page<DeviceEvent>>(`/api/v1/devices/${seg(deviceId)}/events`, {
        kind: kind || undefined,
        cursor: after,
        limit: 25,
      });
      setEvents((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.nextCursor);
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), [deviceId, kind]);
  useEffect(() => () => clearTimeout(timer.current), []);

  useFeed(feed, (event) => {
    if (event.type === "status") return;
    // The log is written behind: coalesce bursts into one reload a moment later.
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void load(), 700);
  });

  return (
    <section id="events" class="card" aria-labelledby="events-title">
      <div class="section-head">
        <h2 id="events-title">Event log</h2>
        <label class="inline">
          Kind{" "}
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">All</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      <ul class="log" data-testid="event-log">
        {events.map((e) => (
          <li key={e.id}>
            <span class="muted mono small">{formatTime(e.ts)}</span> <strong>{e.kind}</strong>
            {e.reason ? ` ${e.reason}` : ""}
            {e.data && Object.keys(e.data).length > 0 && (
              <span class="mono small muted"> {JSON.stringify(e.data)}</span>
            )}
          </li>
        ))}
      </ul>
      {events.length === 0 && !error && <p class="empty">Nothing logged yet.</p>}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
