import { useState } from "preact/hooks";
import { Api, ApiError } from "../api/client";
import { ErrorBox } from "../components/problem";

/** Sign-in with an API token; it is checked against the API before it is kept. */
export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) return;
    setBusy(true);
    setError(undefined);
    try {
      await new Api(value).get("/api/v1/devices", { limit: 1 });
      onSignedIn(value);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      {/* method=post: should scripts ever fail, the browser must not put the token in the URL. */}
      <form class="card" method="post" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">cloudedge console</h1>
        <p class="muted">
          Sign in with an API token. A new server prints its admin token once and saves it to{" "}
          <code>data/admin-token</code>.
        </p>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error instanceof ApiError && error.status === 401 ? (
          <ErrorBox error={error} title="That token was not accepted" />
        ) : (
          <ErrorBox error={error} />
        )}
        <p class="muted small">
          The token is kept in this tab's session storage only and sent as a bearer header.
        </p>
      </form>
    </main>
  );
}
