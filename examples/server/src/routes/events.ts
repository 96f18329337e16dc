import { PassThrough } from "node:stream";
import type { ApiToken, CloudEvent } from "@cloudedge/cloud-sdk";
import { Type } from "@sinclair/typebox";
import type { AppDeps } from "../context.js";
import type { Route } from "../http/route.js";
import * as S from "../http/schemas.js";

const TYPES = ["presence", "status", "state", "command"] as const;
/** The last message of a stream whose token was revoked or expired. */
const REVOKED = "event: unauthorized\ndata: {}\n\n";

/** Open SSE streams and the API token each was opened with, so shutdown and revocation can end them. */
export class EventStreams {
  private readonly open = new Map<PassThrough, string>();

  add(stream: PassThrough, tokenId: string): void {
    this.open.set(stream, tokenId);
    stream.once("close", () => this.open.delete(stream));
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
      responses: { 200: { description: "An endless text/event-stream.", contentType: "text/event-stream" } },
      handler: (ctx, { query }) => {
        const wanted = new Set((query["types"] as string | undefined)?.split(",") ?? TYPES);
        const deviceId = query["deviceId"] as string | undefined;
        const stream = new PassThrough();
        streams.add(stream, (ctx.state.token as ApiToken).id);
        ctx.req.socket.setTimeout(0);
        ctx.req.socket.setNoDelay(true);
        ctx.status = 200;
        ctx.set({
          "Content-Type": "text/event-stream; charset=utf-8",
          "Cache-Control": "no-cache, no-transform",
          "X-Accel-Buffering": "no",
        });
        ctx.body = stream;
        let seq = 0;
        stream.write(`retry: 3000\n: connected\n\n`);
        const listener = (event: CloudEvent) => {
          if (stream.writableEnded || !wanted.has(event.type) || (deviceId && event.deviceId !== deviceId))
            return;
          stream.write(`id: ${++seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        };
        deps.cloud.events.on("event", listener);
        const tokenHash = ctx.state.tokenHash as string;
        const heartbeat = setInterval(() => {
          stream.write(": keep-alive\n\n");
          // Revoked on another node, or expired: the stream ends within one keep-alive.
          void deps.tokens.valid(tokenHash).then(
            (token) => {
              if (!token && !stream.writableEnded) stream.end(REVOKED);
            },
            () => {}, // store unreachable: keep serving; the next tick checks again
          );
        }, deps.sseHeartbeatMs ?? 15_000);
        const cleanup = () => {
          clearInterval(heartbeat);
          deps.cloud.events.off("event", listener);
          if (!stream.writableEnded) stream.end();
        };
        ctx.req.once("close", cleanup);
        stream.once("close", cleanup);
      },
    },
  ];
}
