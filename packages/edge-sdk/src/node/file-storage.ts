import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { JsonValue } from "@cloudedge/protocol";
import type { EdgeStorage } from "../storage.js";

const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * EdgeStorage in a directory: one JSON file per key, written atomically (temp file, fsync,
 * rename) with mode 0600 in a 0700 directory — the token is a bearer credential (§10).
 */
export class FileStorage implements EdgeStorage {
  private ready: Promise<void> | undefined;

  constructor(readonly dir: string) {}

  async load(key: string): Promise<JsonValue | undefined> {
    await this.ensureDir();
    try {
      return JSON.parse(await readFile(this.path(key), "utf8")) as JsonValue;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (error instanceof SyntaxError) return undefined; // a torn file from an old crash: start empty
      throw error;
    }
  }

  async save(key: string, value: JsonValue): Promise<void> {
    await this.ensureDir();
    const target = this.path(key);
    const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await open(temp, "w", 0o600);
    try {
      await handle.writeFile(JSON.stringify(value), "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  private path(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new TypeError(`invalid storage key: ${key}`);
    return join(this.dir, `${key}.json`);
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.ready;
  }
}
