import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Store, sqliteFilePath } from "@cloudedge/cloud-sdk";
import { type ApiTokens, hashToken } from "./http/auth.js";

/** Writes a file only the owner can read (mode 0600). */
function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
}

/** Creates the data dir owner-only (0700); a directory that exists keeps its mode (see checkFileModes). */
function makeDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

/** A file or directory the group or others may read or enter, with its mode as octal text. */
export interface LooseMode {
  path: string;
  mode: string;
}

/**
 * The data dir, the SQLite database (and its -wal/-shm), the token key and the admin token
 * that group or others can access: they hold bcrypt hashes, token hashes and keys, so
 * anything but 0700 (dir) / 0600 (files) is reported for a start-up warning.
 */
export function checkFileModes(dataDir: string, db: string): LooseMode[] {
  const database = sqliteFilePath(db);
  const paths = [
    dataDir,
    join(dataDir, "token-key"),
    join(dataDir, "admin-token"),
    ...(database ? [database, `${database}-wal`, `${database}-shm`] : []),
  ];
  const loose: LooseMode[] = [];
  for (const path of paths) {
    let mode: number;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      continue; // not there (yet): nothing to protect
    }
    if ((mode & 0o077) !== 0) loose.push({ path, mode: `0${mode.toString(8)}` });
  }
  return loose;
}

/** The resume-token HMAC key: configured, or generated once into `<dataDir>/token-key` (0600). */
export function loadTokenKey(dataDir: string, configured: string | undefined): string {
  if (configured) return configured;
  makeDataDir(dataDir);
  const path = join(dataDir, "token-key");
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  const key = randomBytes(32).toString("hex");
  writeSecretFile(path, `${key}\n`);
  return key;
}

/**
 * Makes sure an admin can get in (DESIGN, REST API): a configured CLOUDEDGE_ADMIN_TOKEN is
 * registered (hashed) if it is not yet; otherwise, on a store without any token, one is
 * generated, returned for printing once, and written to `<dataDir>/admin-token` (0600).
 */
export async function bootstrapAdminToken(
  store: Store,
  tokens: ApiTokens,
  dataDir: string,
  configured: string | undefined,
): Promise<{ token: string; file: string } | undefined> {
  if (configured) {
    if (!(await store.tokens.findByHash(hashToken(configured)))) {
      await tokens.create({ name: "admin (CLOUDEDGE_ADMIN_TOKEN)", scopes: ["admin"], token: configured });
    }
    return undefined;
  }
  const existing = await store.tokens.list({ limit: 1 });
  if (existing.items.length > 0) return undefined;
  const { token } = await tokens.create({ name: "admin (bootstrap)", scopes: ["admin"] });
  makeDataDir(dataDir);
  const file = join(dataDir, "admin-token");
  writeSecretFile(file, `${token}\n`);
  return { token, file };
}
