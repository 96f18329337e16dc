import { readdir } from "node:fs/promises";
import { join } from "node:path";
import pino, { type Logger as PinoLogger } from "pino";
import pinoRoll from "pino-roll";

/** Options of createRotatingLog. */
export interface RotatingLogOptions {
  /** Directory of the log files (created if missing). */
  dir: string;
  /** Base name; files are `<name>.<n>.log`. Default "agent". */
  name?: string;
  /** Rotate when the current file reaches this many bytes. Default 10 MiB. */
  maxBytes?: number;
  /** Files kept in all, the current one included. Default 5. */
  maxFiles?: number;
  /** Default "info". */
  level?: string;
}

/** A local rotating JSON log (pino + pino-roll), size- and count-bounded. */
export interface RotatingLog {
  logger: PinoLogger;
  /** The file being written now. */
  currentFile(): string;
  /** Every log file on disk, oldest first. */
  files(): Promise<string[]>;
  /** Flushes pending writes. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the log; `logger` is a pino logger usable as the EdgeClient's logger. */
export async function createRotatingLog(options: RotatingLogOptions): Promise<RotatingLog> {
  const name = options.name ?? "agent";
  const maxFiles = Math.max(1, options.maxFiles ?? 5);
  const stream = await pinoRoll({
    file: join(options.dir, `${name}.log`),
    size: `${options.maxBytes ?? 10 * 1024 * 1024}b`,
    mkdir: true,
    // No `fsync` option: SonicBoom then never fsyncs per line (on a small device's flash that
    // would be a sync write per log line); lines reach the page cache at once (hot-path test).
    // pino-roll counts files in addition to the current one; remove old ones from earlier runs too.
    ...(maxFiles > 1
      ? { limit: { count: maxFiles - 1, removeOtherLogFiles: true } }
      : { limit: { count: 0, removeOtherLogFiles: true } }),
  });
  const logger = pino(
    {
      level: options.level ?? "info",
      // Credentials never reach the file, even if a caller logs an object that holds them.
      redact: {
        paths: [
          "secret",
          "token",
          "password",
          "privateKey",
          "passphrase",
          "*.secret",
          "*.token",
          "*.password",
          "*.privateKey",
          "*.passphrase",
        ],
        censor: "[redacted]",
      },
    },
    stream,
  );
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.log$`);
  return {
    logger,
    currentFile: () => stream.file,
    async files() {
      const entries = await readdir(options.dir).catch(() => [] as string[]);
      return entries
        .map((file) => ({ file, n: Number(pattern.exec(file)?.[1]) }))
        .filter((e) => Number.isInteger(e.n))
        .sort((a, b) => a.n - b.n)
        .map((e) => join(options.dir, e.file));
    },
    async flush() {
      // SonicBoom's flush() does not wait with minLength 0; poll its buffer until written (≤ 2 s).
      const state = stream as unknown as { _writing?: boolean; _len?: number };
      for (let i = 0; i < 400 && (state._writing || (state._len ?? 0) > 0); i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        stream.once("close", () => resolve());
        stream.end();
      }),
  };
}
