import { useState } from "preact/hooks";

export interface CommandInput {
  method: string;
  params: unknown;
  timeoutMs?: number;
  ttlMs?: number;
}

const METHODS = ["system.ping", "system.info", "logs.tail", "logs.upload", "exec", "system.reboot"];

/** Method, params (JSON), timeout and TTL; used for one device and for a group. */
export function CommandForm({
  idPrefix,
  busy,
  onSend,
}: {
  idPrefix: string;
  busy: boolean;
  onSend: (input: CommandInput) => void;
}) {
  const [invalid, setInvalid] = useState<string | undefined>();
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const field = (name: string) => String(form.get(name) ?? "").trim();
    let params: unknown = null;
    if (field("params")) {
      try {
        params = JSON.parse(field("params"));
      } catch (e) {
        setInvalid(`Params are not valid JSON: ${(e as Error).message}`);
        return;
      }
    }
    setInvalid(undefined);
    onSend({
      method: field("method"),
      params,
      ...(field("timeoutMs") ? { timeoutMs: Number(field("timeoutMs")) } : {}),
      ...(field("ttlMs") ? { ttlMs: Number(field("ttlMs")) } : {}),
    });
  };
  return (
    <form class="command-form" onSubmit={submit}>
      <div class="row">
        <div>
          <label for={`${idPrefix}-method`}>Method</label>
          <input
            id={`${idPrefix}-method`}
            name="method"
            required
            list={`${idPrefix}-methods`}
            pattern="[A-Za-z][A-Za-z0-9_.:\-]{0,127}"
            placeholder="system.ping"
          />
          <datalist id={`${idPrefix}-methods`}>
            {METHODS.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        </div>
        <div>
          <label for={`${idPrefix}-timeout`}>Timeout (ms)</label>
          <input
            id={`${idPrefix}-timeout`}
            name="timeoutMs"
            type="number"
            min={1}
            step={1}
            placeholder="30000"
          />
        </div>
        <div>
          <label for={`${idPrefix}-ttl`}>TTL if offline (ms)</label>
          <input id={`${idPrefix}-ttl`} name="ttlMs" type="number" min={1} step={1} placeholder="none" />
        </div>
      </div>
      <label for={`${idPrefix}-params`}>Params (JSON)</label>
      <textarea
        id={`${idPrefix}-params`}
        name="params"
        class="mono"
        rows={3}
        spellcheck={false}
        placeholder="{}"
      />
      {invalid && (
        <p class="error" role="alert">
          {invalid}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Sending…" : "Send command"}
        </button>
      </div>
    </form>
  );
}
