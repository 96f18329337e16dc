import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "@cloudedge/cloud-sdk";
import { type ApiTokens, hashToken } from "./http/auth.js";

/** Writes a file only the owner can read (mode 0600). */
function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
}

/** The resume-token HMAC key: configured, or generated once into `<dataDir>/token-key` (0600). */
export function loadTokenKey(dataDir: string, configured: string | undefined): string {
  if (configured) return configured;
  mkdirSync(dataDir, { recursive: true });
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
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "admin-token");
  writeSecretFile(file, `${token}\n`);
  return { token, file };
}
