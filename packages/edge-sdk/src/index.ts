/**
 * @cloudedge/edge-sdk — what device software embeds to speak cloudedge protocol v1
 * (docs/protocol.md). Browser-safe: Node-only built-ins live under `@cloudedge/edge-sdk/node`.
 */
export {
  adviceFor,
  Backoff,
  type BackoffDecision,
  type BackoffOptions,
  type DisconnectInfo,
} from "./backoff.js";
export type { EdgeClientOptions } from "./client-options.js";
export { type Clock, sleep, systemClock } from "./clock.js";
export { type CollectOptions, type Collector, type CollectorOutput, collectStatus } from "./collector.js";
export { CanceledSignal, type CommandOutcome, TimeoutSignal } from "./command-runner.js";
export { Credentials } from "./credentials.js";
export { type DedupeEntry, DedupeTable, type DedupeTableOptions } from "./dedupe-table.js";
export { EdgeClient } from "./edge-client.js";
export { EdgeError, EdgeErrorCode, ExecutorError, isErrorCode } from "./errors.js";
export type { EdgeClientEvents, OfflineInfo } from "./events.js";
export {
  defineExecutor,
  type ExecutionContext,
  type Executor,
  ExecutorRegistry,
  type ExecutorResult,
} from "./executor.js";
export { Heartbeat } from "./heartbeat.js";
export { type Logger, silentLogger } from "./logger.js";
export { Outbox, type OutboxPdu } from "./outbox.js";
export { type DesiredChange, type DesiredOutcome, DesiredState, ReportedState } from "./state-sync.js";
export { type EdgeStorage, MemoryStorage, SaveQueue } from "./storage.js";
export { defaultSocketFactory, SOCKET_OPEN, type SocketFactory, type SocketLike } from "./transport.js";
