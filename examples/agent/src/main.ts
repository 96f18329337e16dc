#!/usr/bin/env node
import { startAgent } from "./agent.js";
import { ConfigError, HELP, loadAgentConfig } from "./config.js";

/** Exit codes: 0 stopped, 2 bad configuration, 3 credentials rejected before the first connection. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadAgentConfig>;
  try {
    config = loadAgentConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`cloudedge-agent: ${(error as Error).message}\n(see --help)\n`);
    process.exit(2);
  }
  if (config === "help") {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  // Programs run by `exec` inherit the environment: never hand them the device secret.
  delete process.env["CLOUDEDGE_DEVICE_SECRET"];
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent(config);
  } catch (error) {
    const message =
      error instanceof ConfigError || error instanceof TypeError ? error.message : String(error);
    process.stderr.write(`cloudedge-agent: ${message}\n`);
    process.exit(2);
  }
  const { client, log } = agent;
  let everOnline = false;
  client.on("online", ({ sessionId }) => {
    if (!everOnline)
      process.stdout.write(`cloudedge-agent: online as device ${config.deviceId} (session ${sessionId})\n`);
    everOnline = true;
  });
  client.on("offline", (info) => {
    process.stdout.write(`cloudedge-agent: offline (${info.code} ${info.reason || ""}); reconnecting\n`);
  });
  client.on("authFailed", ({ code }) => {
    if (!everOnline) {
      // A typo in the id or secret should not loop silently forever on first start.
      process.stderr.write(
        `cloudedge-agent: the hub rejected the credentials (close ${code}); check --device-id and --secret\n`,
      );
      void client.close("credentials rejected").finally(() => process.exit(3));
      return;
    }
    log.logger.error({ code }, "credentials rejected; retrying with a long backoff");
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return; // repeated signals (npm forwards them too) must not cut the goodbye short
    stopping = true;
    void client
      .close("agent stopping")
      .then(() => log.close())
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await client.start();
}

void main();
