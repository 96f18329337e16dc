import { EdgeClient } from "@cloudedge/edge-sdk";
import {
  createRotatingLog,
  execExecutor,
  FileStorage,
  logsTailExecutor,
  readBootId,
  systemCollector,
  systemExecutors,
} from "@cloudedge/edge-sdk/node";

export interface AgentConfig {
  url: string; // e.g. wss://hub.example.com:9090/ws
  deviceId: string;
  secret: string; // shown once at registration; keep it out of logs
  dataDir: string; // token, dedupe table, state and outbox live here
}

/** A minimal device agent: metrics every 15 s, a few safe commands, desired state applied and reported. */
export async function startAgent(config: AgentConfig) {
  const log = await createRotatingLog({
    dir: `${config.dataDir}/logs`,
    maxBytes: 5 * 1024 * 1024,
    maxFiles: 5,
  });
  const bootId = readBootId();
  const client = new EdgeClient({
    url: config.url,
    deviceId: config.deviceId,
    secret: config.secret,
    agent: { name: "my-agent", version: "1.0.0" },
    bootId,
    storage: new FileStorage(config.dataDir),
    logger: log.logger,
    collectors: [systemCollector()],
    statusIntervalMs: 15_000,
    executors: [
      ...systemExecutors({ agentVersion: "1.0.0", bootId, rebootArgv: ["systemctl", "reboot"] }),
      execExecutor({ allowlist: { "disk-usage": { argv: ["df", "-h", "{mount}"], params: { mount: {} } } } }),
      logsTailExecutor({ file: () => log.files() }),
    ],
  });
  client.handle("greet", (params) => ({ hello: (params as { name?: string } | null)?.name ?? "world" }));

  // Desired state arrives in version order; apply what we know and report it back.
  client.onDesired(async ({ document }) => {
    const interval = document["statusIntervalMs"];
    if (typeof interval === "number" && interval >= 1_000) {
      client.setStatusInterval(interval);
      await client.reportState({ statusIntervalMs: interval });
    }
  });
  client.on("authFailed", ({ code }) => log.logger.error({ code }, "credentials rejected; still retrying"));
  client.on("online", ({ sessionId }) => log.logger.info({ sessionId }, "online"));

  await client.start();
  return {
    client,
    async stop() {
      await client.close("agent stopping");
      await log.close();
    },
  };
}
