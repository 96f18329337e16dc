import { createMergePatch } from "@cloudedge/protocol/merge-patch";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, seg } from "../../api/client";
import type { JsonObject, State } from "../../api/types";
import { ErrorBox } from "../../components/problem";
import { useApp } from "../../context";
import type { Feed } from "../../feed";
import { useFeed } from "../../feed";
import { pretty } from "../../format";

const show = (value: unknown) => (value === undefined ? "–" : JSON.stringify(value));

/**
 * Desired vs reported, key by key, with the delta (desired not yet reported) highlighted,
 * and an editor for desired that sends a merge patch with If-Match: the version it was based on.
 */
export function StatePanel({ deviceId, feed }: { deviceId: string; feed: Feed }) {
  const { api } = useApp();
  const [state, setState] = useState<State | undefined>();
  const [error, setError] = useState<unknown>();
  const [text, setText] = useState("");
  const [base, setBase] = useState<{ version: number; desired: JsonObject } | undefined>();
  const [dirty, setDirtyState] = useState(false);
  // Read when a load resolves: an edit begun while the request was in flight must not be overwritten.
  const dirtyRef = useRef(false);
  const setDirty = (value: boolean) => {
    dirtyRef.current = value;
    setDirtyState(value);
  };
  const [conflict, setConflict] = useState<State | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const load = async (resetEditor: boolean) => {
    try {
      const next = await api.get<State>(`/api/v1/devices/${seg(deviceId)}/state`);
      setState(next);
      if (resetEditor && !dirtyRef.current) {
        setBase({ version: next.desiredVersion, desired: next.desired });
        setText(pretty(next.desired));
        setDirty(false);
      }
      return next;
    } catch (e) {
      setError(e);
      return undefined;
    }
  };
  useEffect(() => void load(true), [deviceId]);
  useFeed(feed, (event) => {
    if (event.type === "state" || event.type === "resync") void load(true);
  });

  const save = async (event: Event) => {
    event.preventDefault();
    if (!base) return;
    setError(undefined);
    setMessage(undefined);
    let edited: unknown;
    try {
      edited = JSON.parse(text);
    } catch (e) {
      setError(new Error(`Not valid JSON: ${(e as Error).message}`));
      return;
    }
    if (typeof edited !== "object" || edited === null || Array.isArray(edited)) {
      setError(new Error("Desired state must be a JSON object."));
      return;
    }
    const patch = createMergePatch(base.desired, edited as JsonObject) as JsonObject;
    if (Object.keys(patch).length === 0) {
      setMessage("No changes to save.");
      return;
    }
    setBusy(true);
    try {
      const next = await api.request<State>(
        "PATCH",
        `/api/v1/devices/${seg(deviceId)}/state/desired`,
        patch,
        {
          "If-Match": `"${base.version}"`,
        },
      );
      setState(next);
      setBase({ version: next.desiredVersion, desired: next.desired });
      setText(pretty(next.desired));
      setDirty(false);
      setConflict(undefined);
      setMessage(`Saved as version ${next.desiredVersion}.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) setConflict(await load(false));
      else setError(e);
    } finally {
      setBusy(false);
    }
  };

  const rebase = () => {
    if (!conflict) return;
    // Keep the user's text; it is now compared against (and conditional on) the latest version.
    setBase({ version: conflict.desiredVersion, desired: conflict.desired });
    setConflict(undefined);
    setMessage(
      `Your edit now applies on top of version ${conflict.desiredVersion}; review it and save again.`,
    );
  };
  const discard = () => {
    if (conflict) {
      setBase({ version: conflict.desiredVersion, desired: conflict.desired });
      setText(pretty(conflict.desired));
    }
    setDirty(false);
    setConflict(undefined);
    setMessage(undefined);
  };

  const keys = state
    ? [...new Set([...Object.keys(state.desired), ...Object.keys(state.reported)])].sort()
    : [];

  return (
    <section id="state" class="card" aria-labelledby="state-title">
      <div class="section-head">
        <h2 id="state-title">State</h2>
        {state && (
          <span class="muted small">
            desired v{state.desiredVersion} · reported v{state.reportedVersion}
          </span>
        )}
      </div>
      {state && (
        <div class="table-wrap">
          <table class="state-table" data-testid="state-table">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Desired</th>
                <th scope="col">Reported</th>
              </tr>
            </thead>
            <tbody>
              {keys.length === 0 && (
                <tr>
                  <td colSpan={3} class="muted">
                    Empty.
                  </td>
                </tr>
              )}
              {keys.map((key) => {
                const pending = key in state.delta;
                return (
                  <tr
                    key={key}
                    class={pending ? "delta" : undefined}
                    data-key={key}
                    data-pending={String(pending)}
                  >
                    <th scope="row" class="mono">
                      {key}
                      {pending && <span class="badge warn">pending</span>}
                    </th>
                    <td class="mono">{show(state.desired[key])}</td>
                    <td class="mono">{show(state.reported[key])}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {state && Object.keys(state.delta).length > 0 && (
        <p class="small">
          <span class="badge warn">delta</span> Desired but not yet reported: {JSON.stringify(state.delta)}
        </p>
      )}
      <form class="editor" onSubmit={save}>
        <label for="desired-editor">
          Edit desired state (JSON){base ? ` — based on version ${base.version}` : ""}
        </label>
        <textarea
          id="desired-editor"
          class="mono"
          rows={8}
          spellcheck={false}
          value={text}
          readOnly={!base}
          onInput={(e) => {
            setText(e.currentTarget.value);
            setDirty(true);
          }}
        />
        <p class="muted small">
          Saved as a JSON merge patch with <code>If-Match</code>; removing a key deletes it.
        </p>
        {dirty && state && base && state.desiredVersion !== base.version && !conflict && (
          <p class="notice">
            The desired state changed on the server (now version {state.desiredVersion}) while you edit.
          </p>
        )}
        {conflict && (
          <div class="error" role="alert" data-testid="state-conflict">
            <strong>Conflict: not saved.</strong>
            <p>
              You edited version {base?.version}, but the desired state is now version{" "}
              {conflict.desiredVersion}. Its current content:
            </p>
            <pre class="json">{pretty(conflict.desired)}</pre>
            <div class="actions">
              <button type="button" onClick={rebase}>
                Apply my edit on the latest
              </button>
              <button type="button" onClick={discard}>
                Discard my edit
              </button>
            </div>
          </div>
        )}
        <ErrorBox error={error} />
        {message && (
          <p class="ok" role="status">
            {message}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={discard} disabled={!dirty}>
            Reset
          </button>
          <button type="submit" class="primary" disabled={busy || !base}>
            Save desired
          </button>
        </div>
      </form>
    </section>
  );
}
