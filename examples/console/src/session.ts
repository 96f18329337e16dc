const KEY = "cloudedge.token";

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
