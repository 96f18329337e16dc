import type { ApiToken, CloudEvent } from "@cloudedge/cloud-sdk";
import { Type } from "@sinclair/typebox";
import type { AppDeps } from "../context.js";
import { HttpError } from "../http/problem.js";
import type { Route } from "../http/route.js";
import * as S from "../http/schemas.js";
import { type SseLimits, SseStream } from "../http/sse-stream.js";

const TYPES = ["presence", "status", "state", "command"] as const;
/** The last message of a stream whose token was revoked or expired. */
const REVOKED = "event: unauthorized\ndata: {}\n\n";

/** Limits of the event streams: per API token, and per stream (see SseStream). */
export interface EventStreamLimits extends SseLimits {
  /** Open streams per API token; one more is refused with 429 `too_many_streams`. Default 10. */
  streamsPerToken?: number;
}

/** Open SSE streams and the API token each was opened with, so shutdown and revocation can end them. */
export class EventStreams {
  private readonly open = new Map<SseStream, string>();
  private readonly perToken = new Map<string, number>();
  /** For metrics: streams refused by the per-token cap, and closed as too slow. */
  readonly stats = { refused: 0, slowClosed: 0 };

  constructor(readonly limits: EventStreamLimits = {}) {}

  /** Throws 429 `too_many_streams` when the token already has its share of streams open. */
  admit(tokenId: string): void {
    const max = this.limits.streamsPerToken ?? 10;
    if ((this.perToken.get(tokenId) ?? 0) < max) return;
    this.stats.refused++;
    throw new HttpError(429, "too_many_streams", `this token already has ${max} event streams open`, { max });
  }

  add(stream: SseStream, tokenId: string): void {
    this.open.set(stream, tokenId);
    this.perToken.set(tokenId, (this.perToken.get(tokenId) ?? 0) + 1);
    stream.onClose(() => {
      this.open.delete(stream);
      const left = (this.perToken.get(tokenId) ?? 1) - 1;
      if (left > 0) this.perToken.set(tokenId, left);
      else this.perToken.delete(tokenId);
    });
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Ends the streams of a revoked token at once (on this node; other nodes notice at their
   * next keep-alive). The client's reconnect then gets 401 like any other request.
   */
  endForToken(tokenId: string): void {
    for (const [stream, id] of this.open) if (id === tokenId) stream.end(REVOKED);
  }

  /** Tells clients the server is going away (retry hint) and ends every stream. */
  closeAll(retryMs = 5_000): void {
    for (const stream of this.open.keys()) {
      stream.end(`retry: ${retryMs}\nevent: shutdown\ndata: {}\n\n`);
    }
  }
}

/** GET /api/v1/events: server-sent events of the whole cluster, with keep-alive comments. */
export function eventRoutes(deps: AppDeps, streams: EventStreams): Route[] {
  return [
    {
      method: "get",
      path: "/api/v1/events",
      operationId: "streamEvents",
      summary:
        "Server-sent events: presence, status, state and command changes (`event:` is the type, `data:` the JSON event). A `: keep-alive` comment every 15 s.",
      tag: "events",
      scope: "read",
      query: Type.Object({
        types: Type.Optional(
          Type.String({ pattern: "^(presence|status|state|command)(,(presence|status|state|command))*$" }),
        ),
        deviceId: Type.Optional(S.Id),
      }),
      responses: {
        200: { description: "An endless text/event-stream.", contentType: "text/event-stream" },
        429: {
          description:
            "`too_many_streams`: the token already has `CLOUDEDGE_SSE_STREAMS_PER_TOKEN` streams open. A stream whose client reads too slowly ends with `event: slow_consumer`.",
        },
      },
      handler: (ctx, { query }) => {
        const wanted = new Set((query["types"] as string | undefined)?.split(",") ?? TYPES);
        const deviceId = query["deviceId"] as string | undefined;
        const tokenId = (ctx.state.token as ApiToken).id;
        streams.admit(tokenId);
        ctx.req.socket.setTimeout(0);
        ctx.req.socket.setNoDelay(true);
        // Written to the response directly (no PassThrough in between), so write() tells
        // the stream when the client stops reading.
        ctx.respond = false;
        ctx.status = 200;
        ctx.res.writeHead(200, {
          "Content-Type": "text/event-stream; charset=utf-8",
          "Cache-Control": "no-cache, no-transform",
          "X-Accel-Buffering": "no",
        });
        const stream = new SseStream(ctx.res, streams.limits, () => streams.stats.slowClosed++);
        streams.add(stream, tokenId);
        let seq = 0;
        stream.write(`retry: 3000\n: connected\n\n`);
        const listener = (event: CloudEvent) => {
          if (stream.closed || !wanted.has(event.type) || (deviceId && event.deviceId !== deviceId)) return;
          stream.write(`id: ${++seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        };
        deps.cloud.events.on("event", listener);
        const tokenHash = ctx.state.tokenHash as string;
        const heartbeat = setInterval(() => {
          stream.write(": keep-alive\n\n");
          // Revoked on another node, or expired: the stream ends within one keep-alive.
          void deps.tokens.valid(tokenHash).then(
            (token) => {
              if (!token) stream.end(REVOKED);
            },
            () => {}, // store unreachable: keep serving; the next tick checks again
          );
        }, deps.sseHeartbeatMs ?? 15_000);
        stream.onClose(() => {
          clearInterval(heartbeat);
          deps.cloud.events.off("event", listener);
        });
      },
    },
  ];
}
