import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

/** How the SFTP server's host key is checked: a pinned fingerprint, or an OpenSSH known_hosts file. */
export type HostKeyCheck = { fingerprint: string | readonly string[] } | { knownHostsFile: string };

/** OpenSSH's SHA256 fingerprint of a raw public key blob: `SHA256:<base64, no padding>`. */
export function sha256Fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/**
 * Builds a verifier for ssh2's `hostVerifier` (raw key blob → accept?). Fingerprints are
 * compared in OpenSSH's `SHA256:…` form (as `ssh-keygen -lf` prints); known_hosts entries
 * match `host` (port 22) or `[host]:port`, plain or hashed (`|1|salt|hash`); `@revoked`
 * entries reject.
 */
export function hostKeyVerifier(check: HostKeyCheck, host: string, port: number): (key: Buffer) => boolean {
  if ("fingerprint" in check) {
    const pins = (Array.isArray(check.fingerprint) ? check.fingerprint : [check.fingerprint]).map(normalise);
    if (pins.length === 0) throw new TypeError("hostKey.fingerprint is empty");
    return (key) => pins.includes(sha256Fingerprint(key));
  }
  const names = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
  // Read at verification time: an operator may update known_hosts without restarting the agent.
  return (key) => {
    let text: string;
    try {
      text = readFileSync(check.knownHostsFile, "utf8");
    } catch {
      return false;
    }
    let accepted = false;
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#")) continue;
      const fields = line.split(/\s+/);
      let marker: string | undefined;
      if (fields[0]?.startsWith("@")) marker = fields.shift();
      const [hosts, , blob] = fields;
      if (!hosts || !blob || marker === "@cert-authority") continue;
      if (!hosts.split(",").some((pattern) => hostMatches(pattern, names))) continue;
      if (!Buffer.from(blob, "base64").equals(key)) continue;
      if (marker === "@revoked") return false;
      accepted = true;
    }
    return accepted;
  };
}

function normalise(fingerprint: string): string {
  const trimmed = fingerprint.trim().replace(/=+$/, "");
  return trimmed.startsWith("SHA256:") ? trimmed : `SHA256:${trimmed}`;
}

function hostMatches(pattern: string, names: string[]): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    return names.some(
      (name) => createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash,
    );
  }
  return names.includes(pattern);
}
