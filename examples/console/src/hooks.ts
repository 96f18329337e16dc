import { useEffect, useRef, useState } from "preact/hooks";
import { EventStream, type StreamState } from "./api/events";
import type { CloudEvent } from "./api/types";
import { useApp } from "./context";
import { TOKEN_REFUSED } from "./session";

/**
 * Subscribes to the server's event stream for as long as the component lives. `onOpen`
 * runs on every (re)connect so the caller can reload what it may have missed.
 */
export function useEvents(
  query: Record<string, string>,
  onEvent: (event: CloudEvent) => void,
  onOpen?: () => void,
): StreamState {
  const { api, signOut } = useApp();
  const handlers = useRef({ onEvent, onOpen });
  handlers.current = { onEvent, onOpen };
  const [state, setState] = useState<StreamState>("connecting");
  const key = new URLSearchParams(query).toString();
  useEffect(() => {
    let first = true;
    const stream = new EventStream({
      token: api.token,
      query: new URLSearchParams(key),
      onEvent: (event) => handlers.current.onEvent(event),
      onOpen: () => {
        if (!first) handlers.current.onOpen?.();
        first = false;
      },
      onState: setState,
      onUnauthorized: () => signOut(TOKEN_REFUSED),
    }).start();
    return () => stream.stop();
  }, [api, key, signOut]);
  return state;
}

/** Re-renders every `ms` (relative times such as "12 s ago"). */
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** A value that settles `ms` after its last change (search boxes). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
