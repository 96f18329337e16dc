import type { Server as HttpServer, IncomingMessage } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { ConnectionHandle, DeviceConnection } from "./connection.js";
import type { DeviceHub } from "./device-hub.js";
import type { TrustedProxies } from "./trusted-proxies.js";

/**
 * A `ws` socket as the hub's DeviceConnection. A class, not closures, and it never holds
 * the upgrade request: at 19,000 connections every retained byte counts (bench/results).
 */
class WsDeviceConnection implements DeviceConnection {
  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
  ) {}
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  send(text: string): void {
    this.ws.send(text);
  }
  close(code: number, reason?: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
}

// Shared by every socket; `this` is the socket, the hub's handle hangs off it.
type HandledSocket = WebSocket & { handle?: ConnectionHandle };
function onMessage(this: HandledSocket, data: Buffer): void {
  this.handle?.message(data);
}
function onClose(this: HandledSocket, code: number): void {
  this.handle?.closed(code);
}
// Oversize frames, bad UTF-8 and other transport errors: ws closes the socket itself.
function onError(): void {}

/**
 * Serves a DeviceHub over WebSockets: permessage-deflate off (docs/protocol.md §2), the
 * hub's frame limit as maxPayload (ws closes with 1009 beyond it), UTF-8 validated by ws.
 */
export interface HubWebSocketServerOptions {
  /**
   * Proxies whose `X-Forwarded-For` names the device's address (for per-address login limits,
   * the event log and logs). Default: nobody — the TCP peer address counts.
   */
  trustedProxies?: TrustedProxies;
}

export class HubWebSocketServer {
  readonly wss: WebSocketServer;
  private readonly trustedProxies: TrustedProxies | undefined;

  constructor(
    private readonly hub: DeviceHub,
    options: HubWebSocketServerOptions = {},
  ) {
    this.trustedProxies = options.trustedProxies?.size ? options.trustedProxies : undefined;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: hub.limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: true,
    });
  }

  /** Completes an HTTP upgrade (for servers that route upgrades themselves). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    // Read before the callback so its closure does not keep the request alive per connection.
    const peer = request.socket.remoteAddress ?? "unknown";
    const remoteAddress = this.trustedProxies
      ? this.trustedProxies.clientAddress(peer, request.headers["x-forwarded-for"])
      : peer;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wire(ws as HandledSocket, remoteAddress));
  }

  private wire(ws: HandledSocket, remoteAddress: string): void {
    ws.handle = this.hub.accept(new WsDeviceConnection(ws, remoteAddress));
    ws.on("message", onMessage);
    ws.on("close", onClose);
    ws.on("error", onError);
  }

  /** Serves upgrades of `path` on an HTTP(S) server; other paths get 404. */
  attach(server: HttpServer | HttpsServer, path = "/ws"): this {
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const pathname = new URL(request.url ?? "/", "http://localhost").pathname;
      if (pathname === path) {
        this.handleUpgrade(request, socket, head);
      } else if (server.listenerCount("upgrade") === 1) {
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      }
    });
    return this;
  }

  /**
   * Stops accepting; gives sockets `graceMs` to finish their close handshake (the hub has
   * already sent bye + close), then drops the rest.
   */
  async close(graceMs = 2_000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.wss.clients.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
