import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { CloudEvent, Device, Group, Page } from "../api/types";
import { Link } from "../components/link";
import { Labels, Presence } from "../components/presence";
import { ErrorBox } from "../components/problem";
import { useApp } from "../context";
import { formatAgo, formatTime } from "../format";
import { useDebounced, useEvents, useNow } from "../hooks";
import { RegisterDialog } from "./register-dialog";

const PAGE_SIZE = 50;

interface Filters {
  online: "" | "true" | "false";
  group: string;
  label: string;
  q: string;
}

/** All devices: live presence from the event stream, filters, cursor paging, registration. */
export function DeviceList() {
  const { api } = useApp();
  const [filters, setFilters] = useState<Filters>({ online: "", group: "", label: "", q: "" });
  const settled = useDebounced(filters, 250);
  const [devices, setDevices] = useState<Device[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const [groups, setGroups] = useState<Group[]>([]);
  const [registering, setRegistering] = useState(false);
  const generation = useRef(0);
  const now = useNow(5000);

  const load = useCallback(
    async (after?: string) => {
      const mine = after ? generation.current : ++generation.current;
      setLoading(true);
      setError(undefined);
      try {
        const page = await api.get<Page<Device>>("/api/v1/devices", {
          online: settled.online || undefined,
          group: settled.group || undefined,
          label: settled.label.trim() || undefined,
          q: settled.q.trim() || undefined,
          cursor: after,
          limit: PAGE_SIZE,
        });
        if (mine !== generation.current) return;
        setDevices((old) => (after ? [...old, ...page.items] : page.items));
        setCursor(page.nextCursor);
      } catch (e) {
        if (mine === generation.current) setError(e);
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [api, settled],
  );

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    api
      .get<Page<Group>>("/api/v1/groups", { limit: 1000 })
      .then((page) => setGroups(page.items))
      .catch(() => {});
  }, [api]);

  const live = useEvents(
    { types: "presence" },
    (event: CloudEvent) => {
      if (event.type !== "presence") return;
      setDevices((list) =>
        list.map((d) =>
          d.id === event.deviceId
            ? {
                ...d,
                online: event.online,
                lastSeenAt: event.at,
                connectedAt: event.online ? event.at : d.connectedAt,
              }
            : d,
        ),
      );
    },
    () => void load(),
  );

  const groupName = (id: string) => groups.find((g) => g.id === id)?.name ?? id;
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));

  return (
    <section aria-labelledby="devices-title">
      <div class="page-head">
        <h1 id="devices-title">Devices</h1>
        <span class={`live ${live}`} role="status" title="Live updates from the server's event stream">
          {live === "open" ? "Live" : live === "connecting" ? "Reconnecting…" : "Not live"}
        </span>
        <button type="button" class="primary" onClick={() => setRegistering(true)}>
          Register device
        </button>
      </div>
      <form class="filters" aria-label="Filter devices" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            name="q"
            placeholder="name, serial, model…"
            value={filters.q}
            onInput={(e) => set({ q: e.currentTarget.value })}
          />
        </label>
        <label>
          Presence
          <select
            name="online"
            value={filters.online}
            onChange={(e) => set({ online: e.currentTarget.value as Filters["online"] })}
          >
            <option value="">All</option>
            <option value="true">Online</option>
            <option value="false">Offline</option>
          </select>
        </label>
        <label>
          Group
          <select name="group" value={filters.group} onChange={(e) => set({ group: e.currentTarget.value })}>
            <option value="">All</option>
            {groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Label
          <input
            name="label"
            placeholder="key or key=value"
            value={filters.label}
            onInput={(e) => set({ label: e.currentTarget.value })}
          />
        </label>
      </form>
      <ErrorBox error={error} />
      <div class="table-wrap">
        <table class="devices responsive">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Presence</th>
              <th scope="col">Last seen</th>
              <th scope="col">Labels</th>
              <th scope="col">Groups</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.id} data-device-id={d.id}>
                <td data-label="Name">
                  <Link href={`/devices/${d.id}`}>{d.name}</Link>
                  <div class="muted small mono">{d.id}</div>
                </td>
                <td data-label="Presence">
                  <Presence online={d.online} disabled={d.disabled} />
                </td>
                <td data-label="Last seen">
                  <span title={formatTime(d.lastSeenAt)}>
                    {d.online ? "now" : formatAgo(d.lastSeenAt, now)}
                  </span>
                </td>
                <td data-label="Labels">
                  <Labels labels={d.labels} />
                </td>
                <td data-label="Groups">
                  {d.groupIds.length === 0 ? (
                    <span class="muted">–</span>
                  ) : (
                    d.groupIds.map(groupName).join(", ")
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && devices.length === 0 && !error && <p class="empty">No devices match.</p>}
      <div class="pager">
        <span class="muted small">
          {devices.length} shown{cursor ? ", more available" : ""}
        </span>
        {cursor && (
          <button type="button" disabled={loading} onClick={() => void load(cursor)}>
            {loading ? "Loading…" : "Load more"}
          </button>
        )}
      </div>
      {registering && (
        <RegisterDialog
          onClose={(changed) => {
            setRegistering(false);
            if (changed) void load();
          }}
        />
      )}
    </section>
  );
}
