import type { Socket } from "node:net";

/**
 * Counts HTTP connections per remote address and closes those past the bound. An upgraded
 * connection stops counting: device sessions are bounded by the hub (sessions, handshakes),
 * and many devices behind one NAT share an address.
 */
export class PerAddress {
  private readonly open = new Map<string, number>();
  private readonly release = new WeakMap<Socket, () => void>();

  constructor(
    private readonly max: number,
    private readonly exempt: (address: string) => boolean,
  ) {}

  /** False (and the socket destroyed) when its address is at the bound. */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? "";
    if (this.max <= 0 || this.exempt(address)) return true;
    const count = (this.open.get(address) ?? 0) + 1;
    if (count > this.max) {
      socket.destroy();
      return false;
    }
    this.open.set(address, count);
    const release = () => {
      this.release.delete(socket);
      const left = (this.open.get(address) ?? 1) - 1;
      if (left > 0) this.open.set(address, left);
      else this.open.delete(address);
    };
    this.release.set(socket, release);
    socket.once("close", () => this.release.get(socket)?.());
    return true;
  }

  /** The connection became a WebSocket: it no longer counts. */
  upgraded(socket: Socket): void {
    this.release.get(socket)?.();
  }
}
