import type { CloudEvent } from "./types";

export type StreamState = "connecting" | "open" | "closed";

export interface EventStreamOptions {
  token: string;
  /** e.g. `types=presence` or `deviceId=…` */
  query?: URLSearchParams;
  onEvent: (event: CloudEvent) => void;
  /** Called on every (re)connect: events may have been missed, so callers reload. */
  onOpen?: () => void;
  onState?: (state: StreamState) => void;
  onUnauthorized?: () => void;
}

const TYPES = new Set(["presence", "status", "state", "command"]);

/**
 * GET /api/v1/events read with fetch, not EventSource: EventSource cannot send an
 * Authorization header, and the token must never go into a URL. Reconnects with
 * jittered exponential backoff, honouring the server's `retry:` hint.
 */
export class EventStream {
  private abort: AbortController | undefined;
  private stopped = false;
  private retryMs = 3000;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: EventStreamOptions) {}

  start(): this {
    void this.connect();
    return this;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
    this.options.onState?.("closed");
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.options.onState?.("connecting");
    this.abort = new AbortController();
    const query = this.options.query?.toString();
    try {
      const response = await fetch(`/api/v1/events${query ? `?${query}` : ""}`, {
        headers: { authorization: `Bearer ${this.options.token}`, accept: "text/event-stream" },
        signal: this.abort.signal,
        cache: "no-store",
        credentials: "omit",
      });
      if (response.status === 401) {
        this.stopped = true;
        this.options.onState?.("closed");
        this.options.onUnauthorized?.();
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.failures = 0;
      this.options.onState?.("open");
      this.options.onOpen?.();
      await this.read(response.body);
    } catch {
      // reconnect below
    }
    if (this.stopped) return;
    this.options.onState?.("connecting");
    // Full jitter: random(0, min(cap, base·2ⁿ)), never below 500 ms.
    const ceiling = Math.min(30_000, this.retryMs * 2 ** this.failures++);
    this.timer = setTimeout(() => void this.connect(), 500 + Math.random() * ceiling);
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
      }
    }
  }

  /** One SSE message (WHATWG HTML §9.2 event stream interpretation, the subset we use). */
  private dispatch(block: string): void {
    let type = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    if (type === "unauthorized") {
      // The token was revoked (or expired) while the stream was open: back to sign-in now.
      this.stopped = true;
      this.options.onUnauthorized?.();
      return;
    }
    if (!TYPES.has(type) || data.length === 0) return;
    try {
      this.options.onEvent(JSON.parse(data.join("\n")) as CloudEvent);
    } catch {
      // a malformed event is dropped, never fatal
    }
  }
}
