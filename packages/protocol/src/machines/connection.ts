import { defineMachine } from "./machine.js";

/** States of an edge connection (docs/protocol.md §4). */
export const ConnectionState = {
  IDLE: "idle",
  CONNECTING: "connecting",
  AUTHENTICATING: "authenticating",
  ONLINE: "online",
  BACKOFF: "backoff",
  CLOSED: "closed",
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/**
 * Events: `connect` (start), `open` (socket open, hello sent), `welcome` (handshake done),
 * `disconnect` (socket closed or failed, hello rejected, pong missing), `retry` (backoff
 * elapsed), `stop` (owner closes the client for good).
 */
export type ConnectionEvent = "connect" | "open" | "welcome" | "disconnect" | "retry" | "stop";

export const connectionMachine = defineMachine<ConnectionState, ConnectionEvent>(
  "connection",
  ["idle", "connecting", "authenticating", "online", "backoff", "closed"],
  ["connect", "open", "welcome", "disconnect", "retry", "stop"],
  {
    idle: { connect: "connecting", stop: "closed" },
    connecting: { open: "authenticating", disconnect: "backoff", stop: "closed" },
    authenticating: { welcome: "online", disconnect: "backoff", stop: "closed" },
    online: { disconnect: "backoff", stop: "closed" },
    backoff: { retry: "connecting", stop: "closed" },
    closed: {},
  },
);

/** `connectionMachine.transition`: the next connection state, or throws IllegalTransitionError. */
export function connectionTransition(state: ConnectionState, event: ConnectionEvent): ConnectionState {
  return connectionMachine.transition(state, event);
}
