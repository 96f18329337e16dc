import WebSocket from "isomorphic-ws";

/**
 * The few WebSocket members the client uses — the WHATWG API, which both browsers and the
 * `ws` package implement. Tests may pass in-memory sockets through `createSocket`.
 */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the TCP connection without a closing handshake. */
  terminate?(): void;
}

/** Opens a socket to `url`. */
export type SocketFactory = (url: string) => SocketLike;

/** WebSocket readyState OPEN. */
export const SOCKET_OPEN = 1;

/**
 * The default: isomorphic-ws (the `ws` package in Node, the global WebSocket in browsers).
 * In Node, permessage-deflate is off (§2.1) and messages are capped at `maxPayload`.
 */
export function defaultSocketFactory(maxPayload = 1024 * 1024): SocketFactory {
  const Ctor = WebSocket as unknown as {
    new (url: string, protocols?: string[], options?: object): SocketLike;
    WebSocketServer?: unknown;
  };
  const isNodeWs = typeof Ctor.WebSocketServer === "function";
  return (url) => {
    const socket = isNodeWs ? new Ctor(url, [], { perMessageDeflate: false, maxPayload }) : new Ctor(url);
    (socket as { binaryType?: string }).binaryType = "arraybuffer";
    return socket;
  };
}

/** Stops listening to a socket we abandon; `ws` throws on an 'error' nobody listens to, so keep a no-op. */
export function detach(socket: SocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.onerror = () => {};
}

/** Closes with a code browsers accept (1000, 3000–4999), ignoring sockets already closing. */
export function closeQuietly(socket: SocketLike, code: number, reason: string): void {
  // Browsers accept only 1000 and 3000–4999 from applications.
  const usable = code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
  try {
    socket.close(usable, reason.slice(0, 120));
  } catch {
    // already closing
  }
}
