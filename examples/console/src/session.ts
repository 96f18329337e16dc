const KEY = "cloudedge.token";

/** Shown on the sign-in form whenever the API refuses the token (401), whichever request saw it first. */
export const TOKEN_REFUSED = "Your token is invalid or has expired. Sign in again.";

/** The API token lives in sessionStorage: gone when the tab closes, never in a URL or cookie. */
export const session = {
  load(): string | null {
    try {
      return sessionStorage.getItem(KEY);
    } catch {
      return null;
    }
  },
  save(token: string): void {
    sessionStorage.setItem(KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
  },
};
