import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerOptions } from "node:http";
import { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { PerAddress } from "./connections-per-address.js";

/** Connection limits of the HTTP(S) server that REST, SSE and the device WebSockets share. */
export interface HttpLimits {
  /** Open connections (device WebSockets included) beyond which a new one is closed at once. */
  maxConnections: number;
  /**
   * HTTP connections (not yet upgraded to a device WebSocket) per remote address beyond which
   * a new one from that address is closed at once; trusted proxies are exempt. 0: no bound.
   */
  maxConnectionsPerAddress: number;
  /** Time from a request's first byte to the end of its headers; past it: 408 and close. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included; past it: 408 and close. Not the response. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept between requests. */
  keepAliveTimeoutMs: number;
  /** How long a new connection may stay silent before its first request; then it is closed. */
  idleTimeoutMs: number;
}

/** File descriptors kept free for the database, log files, DNS and the like. */
const RESERVED_FDS = 64;

/**
 * The default `maxConnections`: every device session and handshake plus 1,024 for REST and
 * SSE — but below the process's open-file limit, so a flood of connections is refused by the
 * server instead of starving the database and the logs of descriptors (EMFILE).
 */
export function defaultMaxConnections(maxSessions: number, maxHandshakes: number, fdLimit = openFileLimit()) {
  const wanted = maxSessions + maxHandshakes + 1024;
  return fdLimit === undefined ? wanted : Math.max(1, Math.min(wanted, fdLimit - RESERVED_FDS));
}

/** The soft open-file limit (Linux /proc); undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The options `createServer` needs (the timeout check runs often enough for short timeouts). */
export function httpServerOptions(limits: HttpLimits): ServerOptions & { handshakeTimeout: number } {
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(shortest / 4))),
    // HTTPS: a TLS handshake that does not finish is an idle connection too.
    handshakeTimeout: limits.idleTimeoutMs,
  };
}

/** The default per-address bound: a quarter of maxConnections, so one address cannot take them all. */
export function defaultMaxConnectionsPerAddress(maxConnections: number): number {
  return Math.max(1, Math.floor(maxConnections / 4));
}

/**
 * Applies the limits Node.js does not take at creation, and routes upgrades. Node's header
 * timeout misses a connection that never sends a byte (its parser comes from a pool with no
 * start time), so such a connection gets an idle timeout of its own, cleared by its first
 * request (a long `wait: true` is not idle) or its upgrade (the hub's hello deadline takes
 * over). Upgrades are routed here, not by a second `upgrade` listener, so that the upgraded
 * connection stops counting against its address.
 */
export function applyHttpLimits(server: Server, limits: HttpLimits, routing: UpgradeRouting): void {
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  const perAddress = new PerAddress(limits.maxConnectionsPerAddress, routing.exempt ?? (() => false));
  // Over TLS the HTTP layer watches the TLS socket, which exists once the handshake is done.
  const opened = server instanceof HttpsServer ? "secureConnection" : "connection";
  server.on(opened, (socket: Socket) => {
    if (perAddress.admit(socket)) socket.setTimeout(limits.idleTimeoutMs);
  });
  server.on("request", (req) => req.socket.setTimeout(0));
  // The one upgrade listener: a connection that becomes a device WebSocket stops counting.
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    perAddress.upgraded(req.socket);
    if (new URL(req.url ?? "/", "http://localhost").pathname === routing.path) {
      req.socket.setTimeout(0);
      routing.upgrade(req, socket, head);
    } else {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
  });
}

/** Where upgrades go, and which peers the per-address bound leaves alone. */
export interface UpgradeRouting {
  /** The WebSocket path (`/ws`); upgrades elsewhere get 404. */
  path: string;
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Peers exempt from the per-address bound (trusted proxies). */
  exempt?: (address: string) => boolean;
}
