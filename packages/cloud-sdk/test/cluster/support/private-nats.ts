import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The nats-server binary for tests that need a server of their own (to kill and restart it). */
export const NATS_SERVER_BIN = process.env.CLOUDEDGE_TEST_NATS_SERVER ?? "/usr/sbin/nats-server";

/**
 * A nats-server (JetStream on) of this test alone, on a free port, so it can be killed and
 * restarted without disturbing the shared one. Fails, never skips, when the binary is missing.
 */
export class PrivateNats {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private storeDir: string,
  ) {}

  static async start(): Promise<PrivateNats> {
    const port = await freePort();
    const nats = new PrivateNats(port, await mkdtemp(join(tmpdir(), "cloudedge-nats-")));
    await nats.restart();
    return nats;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Kills the server the hard way (no goodbye to clients, unflushed writes may be lost). */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  /** Starts (again); with `fresh`, on an empty store: every stream and KV bucket is gone. */
  async restart(fresh = false): Promise<void> {
    await this.kill();
    if (fresh) {
      await rm(this.storeDir, { recursive: true, force: true });
      this.storeDir = await mkdtemp(join(tmpdir(), "cloudedge-nats-"));
    }
    const child = spawn(
      NATS_SERVER_BIN,
      ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir],
      {
        stdio: "ignore",
      },
    );
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      child.once("error", (err) => reject(new Error(`cannot run ${NATS_SERVER_BIN}`, { cause: err })));
      const deadline = Date.now() + 10_000;
      const probe = () => {
        const socket = createConnection(this.port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          resolve();
        });
        socket.once("error", () => {
          if (Date.now() > deadline) reject(new Error("nats-server did not start"));
          else setTimeout(probe, 50);
        });
      };
      probe();
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.storeDir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
