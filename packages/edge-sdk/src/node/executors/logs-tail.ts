import { open, stat } from "node:fs/promises";
import { ExecutorError } from "../../errors.js";
import { defineExecutor, type Executor } from "../../executor.js";

/** Options of logsTailExecutor. */
export interface LogsTailOptions {
  /**
   * The log: one file, or a function listing the log files oldest first (e.g.
   * `RotatingLog.files`) — the tail then continues into rotated files when the current one
   * is short.
   */
  file: string | (() => Promise<string[]> | string[]);
  /** Default lines when the command gives none. Default 100. */
  defaultLines?: number;
  /** Upper bound of lines. Default 1,000. */
  maxLines?: number;
  /** Upper bound of bytes returned. Default 128 KiB. */
  maxBytes?: number;
}

/** `logs.tail`: the last N lines of the local log, inline. Params `{lines?: number}`. */
export function logsTailExecutor(options: LogsTailOptions): Executor {
  const maxLines = options.maxLines ?? 1_000;
  const maxBytes = options.maxBytes ?? 128 * 1024;
  return defineExecutor("logs.tail", async (params) => {
    const requested =
      (params as { lines?: unknown } | null | undefined)?.lines ?? options.defaultLines ?? 100;
    if (typeof requested !== "number" || !Number.isInteger(requested) || requested < 1) {
      throw new ExecutorError("invalid_params", "lines must be a positive integer");
    }
    const files = typeof options.file === "function" ? await options.file() : [options.file];
    if (files.length === 0) throw new ExecutorError("logs.no_file", "no log file yet");
    const want = Math.min(requested, maxLines);
    let lines: string[] = [];
    let budget = maxBytes;
    let truncated = false;
    // Newest file first; older (rotated) files fill in until enough lines are in.
    for (let i = files.length - 1; i >= 0 && lines.length < want && budget > 0; i--) {
      const part = await tail(files[i] as string, want - lines.length, budget);
      lines = [...part.lines, ...lines];
      budget -= part.lines.reduce((n, line) => n + Buffer.byteLength(line) + 1, 0);
      truncated = part.truncated;
    }
    return { file: files.at(-1) as string, lines, truncated };
  });
}

/** Reads backwards from the end until `count` lines (or `maxBytes`) are in. */
export async function tail(
  file: string,
  count: number,
  maxBytes: number,
): Promise<{ lines: string[]; truncated: boolean }> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new ExecutorError("logs.no_file", "the log file does not exist");
  }
  const handle = await open(file, "r");
  try {
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    let read = 0;
    while (position > 0 && newlines <= count && read < maxBytes) {
      const length = Math.min(16 * 1024, position, maxBytes - read);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      chunks.unshift(buffer);
      read += length;
      for (const byte of buffer) if (byte === 10) newlines++;
    }
    let text = Buffer.concat(chunks).toString("utf8");
    if (text.endsWith("\n")) text = text.slice(0, -1);
    const all = text.length === 0 ? [] : text.split("\n");
    // The first line may be cut when we started mid-file.
    if (position > 0 && all.length > count) all.shift();
    const lines = all.slice(-count);
    return { lines, truncated: position > 0 && lines.length < count };
  } finally {
    await handle.close();
  }
}
