import { useEffect, useState } from "preact/hooks";
import { seg } from "../api/client";
import type { Command, Device, FanOutItem, Group, Page } from "../api/types";
import { CommandForm, type CommandInput } from "../components/command-form";
import { StatusBadge } from "../components/command-status";
import { JsonBlock } from "../components/json-block";
import { Link } from "../components/link";
import { Presence } from "../components/presence";
import { ErrorBox } from "../components/problem";
import { useApp } from "../context";
import { useEvents } from "../hooks";
import { navigate } from "../router";

/** One group: rename, delete, members (add/remove), and a command to every member with live per-device results. */
export function GroupPage({ id }: { id: string }) {
  const { api } = useApp();
  const base = `/api/v1/groups/${seg(id)}`;
  const [group, setGroup] = useState<Group | undefined>();
  const [members, setMembers] = useState<Device[]>([]);
  const [membersCursor, setMembersCursor] = useState<string | undefined>();
  const [candidates, setCandidates] = useState<Device[]>([]);
  const [error, setError] = useState<unknown>();
  const [formError, setFormError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [fanOut, setFanOut] = useState<FanOutItem[]>([]);
  const [results, setResults] = useState<Record<string, Command>>({});
  const [busy, setBusy] = useState(false);

  const loadMembers = async (after?: string) => {
    try {
      const page = await api.get<Page<Device>>("/api/v1/devices", { group: id, limit: 100, cursor: after });
      setMembers((old) => (after ? [...old, ...page.items] : page.items));
      setMembersCursor(page.nextCursor);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    api.get<Group>(base).then(setGroup, setError);
    void loadMembers();
    api
      .get<Page<Device>>("/api/v1/devices", { limit: 500 })
      .then((page) => setCandidates(page.items))
      .catch(() => {});
  }, [api, id]);

  useEvents({ types: "command,presence" }, (event) => {
    if (event.type === "presence") {
      setMembers((list) => list.map((d) => (d.id === event.deviceId ? { ...d, online: event.online } : d)));
    } else if (event.type === "command" && event.command.groupId === id) {
      setResults((r) => {
        const old = r[event.command.id];
        return old && old.updatedAt > event.command.updatedAt
          ? r
          : { ...r, [event.command.id]: event.command };
      });
    }
  });

  const rename = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setFormError(undefined);
    setSaved(false);
    try {
      setGroup(
        await api.request<Group>("PATCH", base, {
          name: String(form.get("name") ?? "").trim(),
          description: String(form.get("description") ?? "").trim(),
        }),
      );
      setSaved(true);
    } catch (e) {
      setFormError(e);
    }
  };

  const remove = async () => {
    if (!group || !window.confirm(`Delete the group “${group.name}”? Its devices stay.`)) return;
    try {
      await api.request("DELETE", base);
      navigate("/groups");
    } catch (e) {
      setFormError(e);
    }
  };

  const addMember = async (event: Event) => {
    event.preventDefault();
    const deviceId = String(
      new FormData(event.currentTarget as HTMLFormElement).get("deviceId") ?? "",
    ).trim();
    if (!deviceId) return;
    try {
      await api.request("PUT", `${base}/devices/${seg(deviceId)}`);
      await loadMembers();
    } catch (e) {
      setError(e);
    }
  };

  const removeMember = async (deviceId: string) => {
    try {
      await api.request("DELETE", `${base}/devices/${seg(deviceId)}`);
      setMembers((list) => list.filter((d) => d.id !== deviceId));
    } catch (e) {
      setError(e);
    }
  };

  const send = async (input: CommandInput) => {
    setBusy(true);
    setError(undefined);
    try {
      const response = await api.request<{ items: FanOutItem[] }>("POST", `${base}/commands`, input);
      setFanOut(response.items);
      setResults({});
      // Fetch each once in case its events raced the response.
      for (const item of response.items) {
        if (!item.commandId) continue;
        api
          .get<Command>(`/api/v1/devices/${seg(item.deviceId)}/commands/${seg(item.commandId)}`)
          .then((command) =>
            setResults((r) => {
              const old = r[command.id];
              return old && old.updatedAt >= command.updatedAt ? r : { ...r, [command.id]: command };
            }),
          )
          .catch(() => {});
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (!group) {
    return (
      <section>
        <p>
          <Link href="/groups">← Groups</Link>
        </p>
        {error ? <ErrorBox error={error} title="Could not load the group" /> : <p class="muted">Loading…</p>}
      </section>
    );
  }

  const memberIds = new Set(members.map((d) => d.id));
  const nameOf = (deviceId: string) =>
    members.find((d) => d.id === deviceId)?.name ??
    candidates.find((d) => d.id === deviceId)?.name ??
    deviceId;

  return (
    <div>
      <p class="crumbs">
        <Link href="/groups">← Groups</Link>
      </p>
      <div class="page-head">
        <h1>{group.name}</h1>
      </div>
      <ErrorBox error={error} />
      <section class="card" aria-labelledby="group-settings">
        <h2 id="group-settings">Settings</h2>
        <form class="inline-form" onSubmit={rename} key={group.updatedAt}>
          <div>
            <label for="g-name">Name</label>
            <input id="g-name" name="name" required maxLength={255} defaultValue={group.name} />
          </div>
          <div>
            <label for="g-description">Description</label>
            <input id="g-description" name="description" maxLength={2048} defaultValue={group.description} />
          </div>
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" class="danger" onClick={() => void remove()}>
            Delete group
          </button>
        </form>
        {saved && (
          <p class="ok" role="status">
            Saved.
          </p>
        )}
        <ErrorBox error={formError} />
      </section>
      <section class="card" aria-labelledby="group-members">
        <h2 id="group-members">Members ({members.length})</h2>
        <form class="inline-form" onSubmit={addMember}>
          <div>
            <label for="g-add">Add a device</label>
            <select id="g-add" name="deviceId">
              {candidates
                .filter((d) => !memberIds.has(d.id))
                .map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name} ({d.id})
                  </option>
                ))}
            </select>
          </div>
          <button type="submit">Add</button>
        </form>
        <ul class="members">
          {members.map((d) => (
            <li key={d.id}>
              <Link href={`/devices/${d.id}`}>{d.name}</Link>{" "}
              <Presence online={d.online} disabled={d.disabled} />{" "}
              <button type="button" class="link-button" onClick={() => void removeMember(d.id)}>
                Remove<span class="visually-hidden"> {d.name}</span>
              </button>
            </li>
          ))}
        </ul>
        {membersCursor && (
          <button type="button" onClick={() => void loadMembers(membersCursor)}>
            Load more
          </button>
        )}
      </section>
      <section class="card" aria-labelledby="group-command">
        <h2 id="group-command">Command to every member</h2>
        <CommandForm idPrefix="gcmd" busy={busy} onSend={(input) => void send(input)} />
        {fanOut.length > 0 && (
          <div class="table-wrap">
            <table class="responsive" data-testid="fan-out">
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Status</th>
                  <th scope="col">Result</th>
                </tr>
              </thead>
              <tbody>
                {fanOut.map((item) => {
                  const command = item.commandId ? results[item.commandId] : undefined;
                  return (
                    <tr key={item.deviceId}>
                      <td data-label="Device">
                        <Link href={`/devices/${item.deviceId}`}>{nameOf(item.deviceId)}</Link>
                      </td>
                      <td data-label="Status">
                        {item.error ? (
                          <span class="bad">{item.error.code}</span>
                        ) : (
                          <StatusBadge status={command?.status ?? item.status ?? "QUEUED"} />
                        )}
                      </td>
                      <td data-label="Result">
                        {item.error ? (
                          item.error.message
                        ) : command?.error ? (
                          `${command.error.code}: ${command.error.message}`
                        ) : command?.result !== undefined && command.result !== null ? (
                          <JsonBlock value={command.result} label="Result" />
                        ) : (
                          <span class="muted">waiting…</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
