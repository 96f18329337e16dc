/**
 * The hub's view of one transport connection. `ws` sockets are adapted to it
 * (ws-connection.ts); unit tests use an in-memory pair. Keeping the hub off the transport
 * lets its logic run in virtual time.
 */
export interface DeviceConnection {
  readonly remoteAddress: string;
  /** Bytes accepted by send() but not yet written to the network. */
  readonly bufferedAmount: number;
  send(text: string): void;
  close(code: number, reason?: string): void;
  /** Drops the connection without a close handshake. */
  terminate(): void;
}

/** What the transport reports back to the hub for one connection. */
export interface ConnectionHandle {
  message(data: string | Uint8Array): void;
  /** The connection is gone; `code` is the close code received (1006 when none was). */
  closed(code: number): void;
}
