import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP proxy to the test server, standing in for it so a test can fail it without
 * touching the shared database: `stop()` as a crashed server (connections cut, new ones
 * refused), `hang()` as a stopped one (SIGSTOP: connections stay open and new ones are
 * accepted, but nothing answers until `unhang()`).
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private hung = false;
  /** Links held by hang(): each resumes its traffic when called. */
  private held: Array<() => void> = [];

  private constructor(
    private readonly target: { host: string; port: number },
    public port: number,
  ) {}

  static async start(server: URL): Promise<TcpProxy> {
    const proxy = new TcpProxy(
      { host: server.hostname || "127.0.0.1", port: Number(server.port || 3306) },
      0,
    );
    await proxy.resume();
    return proxy;
  }

  /** Listens (again) on the same port. */
  async resume(): Promise<void> {
    const server = createServer((client) => {
      this.track(client);
      const link = () => this.link(client);
      if (this.hung) this.held.push(link);
      else link();
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and cuts every open connection, as a crashed server would. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops forwarding in both directions; what arrives meanwhile waits, as in a stopped server's socket buffers. */
  hang(): void {
    this.hung = true;
  }

  /** Forwards again, what waited first. */
  unhang(): void {
    this.hung = false;
    const held = this.held;
    this.held = [];
    for (const release of held) release();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
  }

  private link(client: Socket): void {
    if (client.destroyed) return;
    const upstream = connect(this.target.port, this.target.host);
    this.track(upstream);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    const forward = (from: Socket, to: Socket) =>
      from.on("data", (chunk: Buffer) => {
        if (!this.hung) {
          to.write(chunk);
          return;
        }
        // Held: this chunk and everything after it wait for unhang().
        from.pause();
        this.held.push(() => {
          to.write(chunk);
          from.resume();
        });
      });
    forward(client, upstream);
    forward(upstream, client);
  }
}
