import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..", "..", "..");

/** A hub node in its own process, so a test can SIGKILL it. */
export interface ChildNode {
  nodeId: string;
  url: string;
  process: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

/**
 * Bundles node-main.ts (our sources inlined, npm packages left to node_modules) into one
 * ESM file under node_modules/.cache — node 20 cannot run TypeScript itself — once per run.
 */
let bundled: Promise<string> | undefined;
export function bundleNodeMain(): Promise<string> {
  bundled ??= (async () => {
    const outfile = join(
      packageRoot,
      "node_modules",
      ".cache",
      "cloudedge-cluster-test",
      `node-main-${process.pid}.mjs`,
    );
    await mkdir(dirname(outfile), { recursive: true });
    await build({
      entryPoints: [join(here, "node-main.ts")],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      logLevel: "error",
    });
    return outfile;
  })();
  return bundled;
}

/** Removes this run's bundle. */
export async function removeBundle(): Promise<void> {
  if (bundled) await rm(await bundled, { force: true });
  bundled = undefined;
}

/** Starts a node process and waits until it serves. */
export async function spawnNode(
  nodeId: string,
  env: { STORE_URL: string; NATS_URL: string; PREFIX: string },
): Promise<ChildNode> {
  const entry = await bundleNodeMain();
  const child = spawn(process.execPath, [entry], {
    cwd: packageRoot,
    env: { ...process.env, ...env, NODE_ID: nodeId },
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${nodeId} did not start within 15 s`)), 15_000);
    child.once("exit", (code) => reject(new Error(`${nodeId} exited with ${code} before serving`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      try {
        const parsed = JSON.parse(line) as { url?: string };
        if (parsed.url) {
          clearTimeout(timer);
          resolve(parsed.url);
        }
      } catch {
        // not ours
      }
    });
  });
  return { nodeId, url, process: child, exited };
}

/** Stops a node: SIGTERM (graceful), SIGKILL if it lingers. */
export async function stopNode(node: ChildNode): Promise<void> {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return;
  node.process.kill("SIGTERM");
  const timer = setTimeout(() => node.process.kill("SIGKILL"), 3_000);
  await node.exited;
  clearTimeout(timer);
}
