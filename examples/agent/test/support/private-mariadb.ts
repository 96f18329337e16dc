import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql from "mysql2/promise";

/**
 * A MariaDB of a test's own — its own port, data dir and process — so fault tests can stop,
 * hang or kill the database without touching the shared one at 127.0.0.1:3306.
 */
export interface PrivateMariadb {
  /** `mysql://root@127.0.0.1:<port>/test` (database `test` exists). */
  url: string;
  port: number;
  /** The mariadbd process id (changes after `restart()`). */
  pid: number;
  /** Stops the server (SIGTERM, SIGKILL after a grace period) and removes its data dir. */
  stop(): Promise<void>;
  /** SIGKILL: the port refuses connections until `restart()`. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data dir (after `kill()`); resolves when it accepts connections. */
  restart(): Promise<void>;
  /** SIGSTOP: the port still accepts TCP connections, but nothing answers. */
  pause(): void;
  /** SIGCONT: answers again. */
  resume(): void;
}

const run = promisify(execFile);

/** A port nobody listens on right now (the kernel's choice for port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Installs a fresh data dir, starts mariadbd on a free port, waits for it and creates database `test`. */
export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const dir = await mkdtemp(join(tmpdir(), "cloudedge-mariadb-"));
  const datadir = join(dir, "data");
  await run("mariadb-install-db", ["--no-defaults", `--datadir=${datadir}`], { timeout: 60_000 });
  const port = await freePort();
  let child = await launch(dir, datadir, port);

  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  const exited = (proc: ChildProcess) =>
    proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => proc.once("exit", () => resolve()));

  const db: PrivateMariadb = {
    url: `mysql://root@127.0.0.1:${port}/test`,
    port,
    pid: child.pid as number,
    async stop() {
      signal("SIGCONT");
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 10_000);
      await exited(child);
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      signal("SIGKILL");
      await exited(child);
    },
    async restart() {
      child = await launch(dir, datadir, port);
      db.pid = child.pid as number;
    },
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
  };
  return db;
}

/** Spawns mariadbd and resolves once it answers a query (database `test` created); rejects with its log if it dies first. */
async function launch(dir: string, datadir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    "mariadbd",
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${join(dir, "sock")}`,
      `--pid-file=${join(dir, "mariadbd.pid")}`,
      "--user=root",
      "--skip-grant-tables",
      // Small: a test database, on a machine shared with other tests.
      "--innodb-buffer-pool-size=32M",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`mariadbd exited (${child.exitCode ?? child.signalCode}):\n${log}`);
    try {
      const conn = await mysql.createConnection({
        host: "127.0.0.1",
        port,
        user: "root",
        connectTimeout: 2_000,
      });
      await conn.query("CREATE DATABASE IF NOT EXISTS test");
      await conn.end();
      return child;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`mariadbd on port ${port} did not answer: ${(error as Error).message}\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
