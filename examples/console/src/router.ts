import { useEffect, useState } from "preact/hooks";

/** The console's routes; the server answers index.html for each (SPA fallback). */
export type Route =
  | { page: "devices" }
  | { page: "device"; id: string }
  | { page: "groups" }
  | { page: "group"; id: string }
  | { page: "not-found" };

export function parseRoute(path: string): Route {
  if (path === "/" || path === "/devices") return { page: "devices" };
  if (path === "/groups") return { page: "groups" };
  let match = /^\/devices\/(\d{1,20})$/.exec(path);
  if (match) return { page: "device", id: match[1] as string };
  match = /^\/groups\/(\d{1,20})$/.exec(path);
  if (match) return { page: "group", id: match[1] as string };
  return { page: "not-found" };
}

const listeners = new Set<() => void>();

export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, "", path);
  window.scrollTo(0, 0);
  for (const listener of listeners) listener();
}

/** The current route; re-renders on navigate() and on back/forward. */
export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return parseRoute(path);
}
