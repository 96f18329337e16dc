import { useEffect, useRef } from "preact/hooks";
import type { CloudEvent } from "./api/types";

/** What a page's panels hear: the device's events, and `resync` after the stream reconnected. */
export type FeedEvent = CloudEvent | { type: "resync" };

/** One event stream per page, fanned out to its panels (instead of one stream each). */
export class Feed {
  private readonly listeners = new Set<(event: FeedEvent) => void>();

  emit(event: FeedEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  on(listener: (event: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function useFeed(feed: Feed, handler: (event: FeedEvent) => void): void {
  const current = useRef(handler);
  current.current = handler;
  useEffect(() => feed.on((event) => current.current(event)), [feed]);
}
