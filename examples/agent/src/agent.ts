import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EdgeClient, type Executor } from "@cloudedge/edge-sdk";
import type { ExecCommand } from "@cloudedge/edge-sdk/node";
import {
  createRotatingLog,
  execExecutor,
  FileStorage,
  helloHardware,
  logsTailExecutor,
  logsUploadExecutor,
  readBootId,
  readSystemFacts,
  systemCollector,
  systemExecutors,
} from "@cloudedge/edge-sdk/node";
import WebSocket from "ws";
import type { AgentConfig, ExecCommandConfig } from "./config.js";

export const AGENT_VERSION = "0.1.0";

/** The reference agent composed from the edge SDK; resolves once started (connecting in the background). */
export async function startAgent(config: AgentConfig) {
  const log = await createRotatingLog({
    dir: config.logDir,
    maxBytes: 5 * 1024 * 1024,
    maxFiles: 5,
    level: config.logLevel,
  });
  const bootId = readBootId();
  const ca = config.caFile ? readFileSync(config.caFile) : undefined;
  // Static facts are read once (and again on system.info), never per status report.
  let facts = readSystemFacts();

  const executors: Executor[] = [
    ...systemExecutors({
      agentVersion: AGENT_VERSION,
      bootId,
      facts: () => {
        facts = readSystemFacts();
        return facts;
      },
      ...(config.reboot ? { rebootArgv: config.reboot.argv } : {}),
    }),
    logsTailExecutor({ file: () => log.files() }),
    execExecutor({
      allowlist: allowlist(config.exec?.allowlist ?? {}),
      // Runs (pid, output, exit status) live in the data dir, so a restart reports their real outcome.
      runDir: join(config.dataDir, "exec"),
      ...(config.exec?.timeoutMs ? { timeoutMs: config.exec.timeoutMs } : {}),
      ...(config.exec?.maxOutputBytes ? { maxOutputBytes: config.exec.maxOutputBytes } : {}),
      ...(config.exec?.maxConcurrent ? { maxConcurrent: config.exec.maxConcurrent } : {}),
    }),
  ];
  if (config.sftp) {
    const { privateKeyFile, ...sftp } = config.sftp;
    executors.push(
      logsUploadExecutor({
        sftp: { ...sftp, ...(privateKeyFile ? { privateKey: readFileSync(privateKeyFile) } : {}) },
        deviceId: config.deviceId,
        files: () => log.files(),
        beforeUpload: () => log.flush(),
      }),
    );
  }

  const client = new EdgeClient({
    url: config.server,
    deviceId: config.deviceId,
    secret: config.secret,
    agent: { name: "cloudedge-agent", version: AGENT_VERSION },
    bootId,
    software: { version: AGENT_VERSION },
    hardware: () => helloHardware(facts),
    storage: new FileStorage(config.dataDir),
    logger: log.logger,
    collectors: [systemCollector({ facts, ...config.collector })],
    statusIntervalMs: config.statusIntervalMs,
    executors,
    // TLS: certificates are verified (against --ca-file when given) unless --insecure.
    createSocket: (url) =>
      new WebSocket(url, {
        perMessageDeflate: false,
        maxPayload: 1024 * 1024,
        ...(ca ? { ca } : {}),
        rejectUnauthorized: !config.insecure,
      }) as unknown as ReturnType<NonNullable<ConstructorParameters<typeof EdgeClient>[0]["createSocket"]>>,
  });

  // Desired state keys the agent knows; applied in version order, reported back.
  client.onDesired(async ({ document }) => {
    const applied: Record<string, unknown> = {};
    const interval = document["statusIntervalMs"];
    if (typeof interval === "number" && Number.isInteger(interval) && interval >= 1_000) {
      client.setStatusInterval(interval);
      applied["statusIntervalMs"] = interval;
    }
    const level = document["logLevel"];
    if (typeof level === "string" && ["debug", "info", "warn", "error"].includes(level)) {
      log.logger.level = level;
      applied["logLevel"] = level;
    }
    if (Object.keys(applied).length > 0)
      await client.reportState(applied as Parameters<typeof client.reportState>[0]);
  });
  return { client, log };
}

/** The config file's allowlist as the exec executor takes it (only the documented keys). */
function allowlist(entries: Record<string, ExecCommandConfig>): Record<string, ExecCommand> {
  return Object.fromEntries(
    Object.entries(entries).map(([name, command]) => [
      name,
      {
        argv: command.argv,
        ...(command.timeoutMs ? { timeoutMs: command.timeoutMs } : {}),
        ...(command.onAgentRestart ? { onAgentRestart: command.onAgentRestart } : {}),
        params: Object.fromEntries(
          Object.entries(command.params ?? {}).map(([param, spec]) => [
            param,
            {
              ...(spec.pattern !== undefined ? { pattern: spec.pattern } : {}),
              ...(spec.allowLeadingDash !== undefined ? { allowLeadingDash: spec.allowLeadingDash } : {}),
              ...(spec.required !== undefined ? { required: spec.required } : {}),
              ...(spec.default !== undefined ? { default: spec.default } : {}),
            },
          ]),
        ),
      },
    ]),
  );
}
