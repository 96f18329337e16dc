import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { seg } from "../../api/client";
import type { Command, Page } from "../../api/types";
import { TERMINAL } from "../../api/types";
import { CommandForm, type CommandInput } from "../../components/command-form";
import { Lifecycle, StatusBadge } from "../../components/command-status";
import { JsonBlock } from "../../components/json-block";
import { ErrorBox } from "../../components/problem";
import { useApp } from "../../context";
import type { Feed } from "../../feed";
import { useFeed } from "../../feed";
import { formatTime } from "../../format";

/** Send a command and watch it to its outcome (live); the device's command history below. */
export function CommandsPanel({ deviceId, feed, online }: { deviceId: string; feed: Feed; online: boolean }) {
  const { api } = useApp();
  const [history, setHistory] = useState<Command[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [watching, setWatching] = useState<Command | undefined>();
  const [seen, setSeen] = useState<string[]>([]);
  const [open, setOpen] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const base = `/api/v1/devices/${seg(deviceId)}/commands`;

  const load = async (after?: string) => {
    try {
      const page = await api.get<Page<Command>>(base, { limit: 20, cursor: after });
      setHistory((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.nextCursor);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), [deviceId]);

  const upsert = (command: Command) => {
    setHistory((list) =>
      list.some((c) => c.id === command.id)
        ? list.map((c) => (c.id === command.id && c.updatedAt <= command.updatedAt ? command : c))
        : [command, ...list],
    );
    setWatching((w) => (w && w.id === command.id && w.updatedAt <= command.updatedAt ? command : w));
  };

  useFeed(feed, (event) => {
    if (event.type === "command") {
      upsert(event.command);
      setSeen((s) =>
        watching?.id === event.command.id && !s.includes(event.command.status)
          ? [...s, event.command.status]
          : s,
      );
    } else if (event.type === "resync") {
      void load();
      if (watching && !TERMINAL.has(watching.status))
        api.get<Command>(`${base}/${seg(watching.id)}`).then(upsert, () => {});
    }
  });

  const send = async (input: CommandInput) => {
    setBusy(true);
    setError(undefined);
    try {
      const command = await api.request<Command>("POST", base, input);
      setSeen([command.status]);
      setWatching(command);
      upsert(command);
      // Events may have raced the response: read it once more.
      api.get<Command>(`${base}/${seg(command.id)}`).then(upsert, () => {});
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const cancel = async (command: Command) => {
    try {
      upsert(await api.request<Command>("DELETE", `${base}/${seg(command.id)}`));
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section id="commands" class="card" aria-labelledby="commands-title">
      <h2 id="commands-title">Commands</h2>
      {!online && <p class="muted small">The device is offline: without a TTL a command is refused.</p>}
      <CommandForm idPrefix="cmd" busy={busy} onSend={(input) => void send(input)} />
      <ErrorBox error={error} />
      {watching && (
        <div class="watch" data-testid="command-watch" aria-live="polite">
          <h3>
            <span class="mono">{watching.method}</span> <StatusBadge status={watching.status} />
          </h3>
          <Lifecycle command={watching} seen={seen} />
          {watching.status === "QUEUED" && (
            <button type="button" onClick={() => void cancel(watching)}>
              Cancel
            </button>
          )}
          {watching.error && (
            <p class="bad">
              {watching.error.code}: {watching.error.message}
            </p>
          )}
          {TERMINAL.has(watching.status) && watching.result !== null && watching.result !== undefined && (
            <JsonBlock value={watching.result} label="Result" />
          )}
        </div>
      )}
      <h3>History</h3>
      <div class="table-wrap">
        <table class="responsive" data-testid="command-history">
          <thead>
            <tr>
              <th scope="col">Method</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {history.map((c) => (
              <Fragment key={c.id}>
                <tr data-command-id={c.id}>
                  <td data-label="Method" class="mono">
                    {c.method}
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={c.status} />
                  </td>
                  <td data-label="Created">{formatTime(c.createdAt)}</td>
                  <td data-label="Details">
                    <button
                      type="button"
                      class="link-button"
                      aria-expanded={open === c.id}
                      onClick={() => setOpen(open === c.id ? undefined : c.id)}
                    >
                      {open === c.id ? "Hide" : "Show"}
                    </button>
                  </td>
                </tr>
                {open === c.id && (
                  <tr class="details-row">
                    <td colSpan={4}>
                      <JsonBlock
                        value={{
                          id: c.id,
                          params: c.params,
                          result: c.result,
                          error: c.error,
                          attempts: c.attempts,
                        }}
                        label="Command details"
                      />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
      {history.length === 0 && <p class="empty">No commands yet.</p>}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
