/** Structured logger (pino-compatible shape). Fields never include secrets, tokens or hashes. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const noop = () => {};

/** Discards everything; the default, so a library never prints unasked. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** One JSON line per entry on stderr, at `level` and above. */
export function jsonLogger(level: "debug" | "info" | "warn" | "error" = "info"): Logger {
  const order = ["debug", "info", "warn", "error"] as const;
  const min = order.indexOf(level);
  const at =
    (lvl: (typeof order)[number]) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (order.indexOf(lvl) < min) return;
      process.stderr.write(
        `${JSON.stringify({ level: lvl, time: new Date().toISOString(), msg: message, ...fields })}\n`,
      );
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
