import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { Proc, ROOT } from "../../../agent/test/support/processes.js";

export { Proc, ROOT };

export const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Debian's Chromium, never a downloaded browser; a missing one fails with what to install. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's chromium (.ci/ensure-tools.sh does)`,
    );
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The reference server as a user starts it (`npm start`), on a free port with its own data dir. */
export async function startServer(): Promise<{ proc: Proc; port: number; token: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "cloudedge-console-"));
  const port = await freePort();
  const proc = new Proc(["start"], {
    PORT: String(port),
    HOST: "127.0.0.1",
    CLOUDEDGE_DB: `sqlite:${join(dir, "cloudedge.db")}`,
    CLOUDEDGE_DATA_DIR: join(dir, "data"),
    CLOUDEDGE_HEARTBEAT_MS: "1000",
    CLOUDEDGE_SHUTDOWN_SPREAD_MS: "500",
    CLOUDEDGE_LOG_LEVEL: "warn",
  });
  // The first start may build every package (turbo), which takes a while on a busy machine.
  await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 240_000);
  const token = readFileSync(join(dir, "data", "admin-token"), "utf8").trim();
  return { proc, port, token, dir };
}

/**
 * Runs the agent command line the register dialog shows (`CLOUDEDGE_DEVICE_SECRET=… npm run
 * agent -- …`) from the repository root, with its own data dir.
 */
export function startAgentFromCommand(command: string, dataDir: string): Proc {
  const match = /^CLOUDEDGE_DEVICE_SECRET=(\S+) npm (run agent -- .+)$/.exec(command.trim());
  if (!match) throw new Error(`unexpected agent command line: ${command}`);
  const secret = (match[1] as string).replace(/^'(.*)'$/, "$1");
  return new Proc([...(match[2] as string).split(/\s+/), "--data-dir", dataDir], {
    CLOUDEDGE_DEVICE_SECRET: secret,
  });
}
