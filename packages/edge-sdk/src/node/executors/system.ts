import { spawn } from "node:child_process";
import { arch, hostname, type as osType, platform, release, uptime } from "node:os";
import { ExecutorError } from "../../errors.js";
import { defineExecutor, type Executor } from "../../executor.js";
import { readSystemFacts, type SystemFacts } from "../system-facts.js";

/** Options of systemExecutors. */
export interface SystemExecutorOptions {
  /** Reported by `system.info`. */
  agentVersion: string;
  bootId: string;
  /**
   * The argv `system.reboot` runs after answering (never hard-coded; e.g. `["systemctl",
   * "reboot"]`). Without it the method fails `invalid_params`-free with `reboot_not_configured`.
   */
  rebootArgv?: readonly string[];
  /**
   * Re-reads the static facts (CPU model and cores, OS, serial/model, NICs) for
   * `system.info`; the agent's cache is refreshed so the next `hello` carries any change.
   * Default readSystemFacts.
   */
  facts?: () => SystemFacts;
}

/** `system.ping`, `system.info` and `system.reboot` (docs/protocol.md §9.8). */
export function systemExecutors(options: SystemExecutorOptions): Executor[] {
  return [
    defineExecutor("system.ping", () => ({ pong: true, ts: Date.now() })),
    defineExecutor("system.info", () => {
      const facts = (options.facts ?? readSystemFacts)();
      return {
        os: osType(),
        platform: platform(),
        release: release(),
        arch: arch(),
        hostname: hostname(),
        uptimeS: Math.round(uptime()),
        agentVersion: options.agentVersion,
        bootId: options.bootId,
        node: process.versions.node,
        cpu: facts.cpu,
        ...(facts.os.distro ? { distro: facts.os.distro } : {}),
        hardware: {
          ...(facts.serialNumber ? { serialNumber: facts.serialNumber } : {}),
          ...(facts.model ? { model: facts.model } : {}),
          nics: facts.nics,
        },
      };
    }),
    defineExecutor("system.reboot", (_params, context) => {
      const argv = options.rebootArgv;
      if (!argv || argv.length === 0) {
        throw new ExecutorError("reboot_not_configured", "no reboot command is configured on this device");
      }
      // The result (success of *issuing* the reboot) is stored and sent first; then it runs.
      context.afterResult(() => runDetached(argv));
      return { issued: true, command: argv[0] as string };
    }),
  ];
}

function runDetached(argv: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: "ignore", shell: false });
    child.once("error", reject);
    child.once("spawn", () => {
      child.unref();
      resolve();
    });
  });
}
