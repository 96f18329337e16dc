import { useEffect, useRef, useState } from "preact/hooks";
import type { RegisteredDevice } from "../api/types";
import { ErrorBox } from "../components/problem";
import { useApp } from "../context";
import { shellQuote } from "../format";

/** Parses "key=value" lines (or comma-separated) into labels. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(/[\n,]/)) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf("=");
    if (eq < 0) labels[item] = "";
    else labels[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return labels;
}

/** The exact command a user runs at the repository root to make a machine this device. */
export function agentCommand(id: string, secret: string, origin: URL = new URL(location.href)): string {
  const ws = `${origin.protocol === "https:" ? "wss" : "ws"}://${origin.host}/ws`;
  return `CLOUDEDGE_DEVICE_SECRET=${shellQuote(secret)} npm run agent -- --server ${ws} --device-id ${id} --config examples/agent/agent.example.json`;
}

/** Register a device; on success show its id, secret (once) and the agent command line. */
export function RegisterDialog({ onClose }: { onClose: (changed: boolean) => void }) {
  const { api } = useApp();
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<RegisteredDevice | undefined>();

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? "").trim();
    const hardware = {
      ...(text("serialNumber") ? { serialNumber: text("serialNumber") } : {}),
      ...(text("model") ? { model: text("model") } : {}),
    };
    setBusy(true);
    setError(undefined);
    try {
      const device = await api.request<RegisteredDevice>("POST", "/api/v1/devices", {
        name: text("name"),
        ...(text("type") ? { type: text("type") } : {}),
        ...(text("description") ? { description: text("description") } : {}),
        labels: parseLabels(text("labels")),
        ...(Object.keys(hardware).length > 0 ? { hardware } : {}),
      });
      setCreated(device);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby="register-title"
      onClose={() => onClose(created !== undefined)}
    >
      {!created ? (
        <form method="dialog" onSubmit={submit}>
          <h2 id="register-title">Register a device</h2>
          <label for="reg-name">Name</label>
          <input id="reg-name" name="name" required maxLength={255} autoFocus />
          <div class="row">
            <div>
              <label for="reg-serial">Serial number</label>
              <input id="reg-serial" name="serialNumber" maxLength={255} />
            </div>
            <div>
              <label for="reg-model">Model</label>
              <input id="reg-model" name="model" maxLength={255} />
            </div>
          </div>
          <label for="reg-type">Type</label>
          <input id="reg-type" name="type" maxLength={64} placeholder="gateway" />
          <label for="reg-labels">Labels</label>
          <textarea id="reg-labels" name="labels" rows={2} placeholder={"site=lab\nenv=test"} />
          <label for="reg-description">Description</label>
          <textarea id="reg-description" name="description" rows={2} maxLength={2048} />
          <ErrorBox error={error} />
          <div class="actions">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? "Registering…" : "Register"}
            </button>
          </div>
        </form>
      ) : (
        <div>
          <h2 id="register-title">Registered “{created.name}”</h2>
          <p class="warning" role="alert">
            Copy the secret now: it is shown this once and cannot be read back (rotate it if lost).
          </p>
          <dl class="facts">
            <dt>Device id</dt>
            <dd>
              <code data-testid="new-device-id">{created.id}</code>
            </dd>
            <dt>Secret</dt>
            <dd>
              <code data-testid="new-device-secret" class="secret">
                {created.secret}
              </code>{" "}
              <CopyButton text={created.secret} label="Copy secret" />
            </dd>
          </dl>
          <p>Run the reference agent at the repository root:</p>
          <pre class="command" data-testid="agent-command">
            {agentCommand(created.id, created.secret)}
          </pre>
          <div class="actions">
            <CopyButton text={agentCommand(created.id, created.secret)} label="Copy command" />
            <button type="button" class="primary" onClick={() => dialog.current?.close()}>
              Done
            </button>
          </div>
        </div>
      )}
    </dialog>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<string | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("Copied");
    } catch {
      setDone("Copy failed: select the text instead");
    }
    setTimeout(() => setDone(undefined), 2500);
  };
  return (
    <button type="button" onClick={() => void copy()} aria-live="polite">
      {done ?? label}
    </button>
  );
}
