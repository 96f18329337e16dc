// pino-roll ships no type declarations; this covers what rotating-log.ts uses.
declare module "pino-roll" {
  interface RollStream extends NodeJS.WritableStream {
    /** The file being written now. */
    readonly file: string;
    flush(cb?: (error?: Error) => void): void;
    end(): this;
    once(event: string, listener: (...args: unknown[]) => void): this;
  }
  interface PinoRollOptions {
    file: string | (() => string);
    size?: string | number;
    frequency?: "daily" | "hourly" | number;
    extension?: string;
    symlink?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    dateFormat?: string;
    mkdir?: boolean;
    sync?: boolean;
  }
  export default function pinoRoll(options: PinoRollOptions): Promise<RollStream>;
}
