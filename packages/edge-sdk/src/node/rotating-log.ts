import { mkdirSync, readdirSync, statSync, unlink } from "node:fs";
import { join } from "node:path";
import pino, { type Logger as PinoLogger } from "pino";
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

/** A local rotating JSON log (pino), size- and count-bounded. */
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

type Destination = ReturnType<typeof pino.destination> & { file: string };

/**
 * Opens the log; `logger` is a pino logger usable as the EdgeClient's logger. Rotation is
 * our own (pino's SonicBoom reopened on the next file) rather than pino-roll, whose date
 * library alone is ≈ 7 MiB of RSS on the device. No fsync per line: lines reach the page
 * cache at once, and flash is not synced per log line (hot-path test).
 */
export async function createRotatingLog(options: RotatingLogOptions): Promise<RotatingLog> {
  const name = options.name ?? "agent";
  const maxFiles = Math.max(1, options.maxFiles ?? 5);
  const maxBytes = Math.max(1, options.maxBytes ?? 10 * 1024 * 1024);
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.log$`);
  const numbered = () =>
    safeList(options.dir)
      .map((file) => ({ file, n: Number(pattern.exec(file)?.[1]) }))
      .filter((e) => Number.isInteger(e.n))
      .sort((a, b) => a.n - b.n);
  const path = (n: number) => join(options.dir, `${name}.${n}.log`);
  // Old files beyond the count go, those of earlier runs too; unlinking never blocks a write.
  const prune = () => {
    for (const e of numbered()) if (e.n <= n - maxFiles) unlink(join(options.dir, e.file), () => {});
  };

  mkdirSync(options.dir, { recursive: true });
  let n = numbered().at(-1)?.n ?? 1;
  let size = fileSize(path(n));
  if (size >= maxBytes) {
    n += 1;
    size = 0;
  }
  const stream = pino.destination({ dest: path(n), mkdir: true, sync: false }) as Destination;
  prune();
  const write = stream.write.bind(stream);
  stream.write = (line: string) => {
    const ok = write(line);
    size += Buffer.byteLength(line);
    if (size >= maxBytes) {
      size = 0;
      n += 1;
      stream.reopen(path(n));
      prune();
    }
    return ok;
  };

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
  return {
    logger,
    currentFile: () => stream.file,
    async files() {
      return numbered().map((e) => join(options.dir, e.file));
    },
    async flush() {
      // SonicBoom's flush() does not wait with minLength 0; poll its buffer until written (≤ 2 s).
      const state = stream as unknown as { _writing?: boolean; _len?: number; _reopening?: boolean };
      for (let i = 0; i < 400 && (state._writing || state._reopening || (state._len ?? 0) > 0); i++) {
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

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
