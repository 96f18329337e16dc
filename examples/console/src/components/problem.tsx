import { ApiError } from "../api/client";

// Plain-language hints for the codes an operator meets most; the server's detail follows.
const HINTS: Record<string, string> = {
  device_offline: "The device is offline. Give the command a TTL to queue it until the device reconnects.",
  device_disabled: "The device is disabled; enable it before sending commands.",
  version_mismatch: "Someone changed this since you loaded it.",
  forbidden: "Your token lacks the scope this needs.",
  validation_failed: "The server refused the input.",
  network_error: "The server could not be reached.",
  rate_limited: "Too many requests; try again shortly.",
};

/** An API failure as a readable message: hint, the server's detail, its code and field errors. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  if (!(error instanceof ApiError)) {
    return (
      <div class="error" role="alert">
        <strong>{title ?? "Something went wrong"}</strong>
        <p>{error instanceof Error ? error.message : String(error)}</p>
      </div>
    );
  }
  const { problem } = error;
  const hint = HINTS[problem.code];
  return (
    <div class="error" role="alert" data-code={problem.code}>
      <strong>
        {title ?? problem.title ?? "Error"}
        {problem.status > 0 ? ` (${problem.status})` : ""}
      </strong>
      {hint && <p>{hint}</p>}
      {problem.detail && <p>{problem.detail}</p>}
      {problem.errors && problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((e) => (
            <li key={e.path}>
              <code>{e.path}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
      <p class="muted small">code: {problem.code}</p>
    </div>
  );
}
