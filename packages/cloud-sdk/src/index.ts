/**
 * @cloudedge/cloud-sdk — the cloud side of cloudedge: device hub, device auth, command
 * broker, desired/reported state, status ingest, repositories and the cluster-bus seam.
 * The drivers are optional peers behind subpaths: `/sqlite` (better-sqlite3), `/mysql`
 * (mysql2), `/nats` (nats); nothing here imports them. `/testing` holds the contract suites.
 */

export {
  ApiTokenService,
  type ApiTokenServiceOptions,
  generateApiToken,
  hashToken,
  hasScope,
  MAX_TOKEN_LIFETIME_MS,
  MIN_TOKEN_LIFETIME_MS,
} from "./auth/api-tokens.js";
export {
  type AuthFailureReason,
  type AuthOutcome,
  DeviceAuthenticator,
  type DeviceAuthenticatorOptions,
} from "./auth/device-authenticator.js";
export { type LoginKeys, type LoginLimitRules, LoginLimits } from "./auth/login-limits.js";
export { FailureRateLimiter, type RateLimitRule } from "./auth/rate-limiter.js";
export { type ResumeClaims, ResumeTokens, type TokenVerdict } from "./auth/resume-tokens.js";
export { bcryptStats, generateSecret, hashSecret, MIN_SECRET_LENGTH, verifySecret } from "./auth/secrets.js";
export { CommandBroker } from "./broker/command-broker.js";
export { CommandFailedError, CommandWaitTimeoutError, errorForCommand } from "./broker/command-errors.js";
export { CommandQuota, type CommandQuotaLimits, QueueFullError } from "./broker/command-quota.js";
export type { RecoveryCounts } from "./broker/command-recovery.js";
export type {
  CommandBrokerOptions,
  FanOutItem,
  SendAndWaitOptions,
  SendOptions,
} from "./broker/command-types.js";
export { MAX_COMMAND_TIMEOUT_MS, MAX_COMMAND_TTL_MS } from "./broker/command-validation.js";
export { Cloud, type CloudOptions, type ShutdownReport } from "./cloud.js";
export type {
  BusHandler,
  BusReply,
  BusRequest,
  BusRequestKind,
  BusRequestOf,
  ClusterBus,
  ClusterPresence,
  HeldSession,
  OrphanedSession,
} from "./cluster/cluster-bus.js";
export { LocalClusterBus } from "./cluster/local-cluster-bus.js";
export {
  type DeviceDetail,
  DeviceService,
  type DeviceServiceOptions,
  type DeviceView,
  type RegisterDeviceInput,
} from "./devices/device-service.js";
export { type LabelRequirement, type LabelSelector, parseLabelSelector } from "./devices/label-selector.js";
export {
  assertDocumentLimits,
  CloudError,
  CloudErrorCode,
  ConflictError,
  DocumentLimitError,
  DriverMissingError,
  isCloudError,
  NotFoundError,
  StoreUnavailableError,
  ValidationError,
} from "./errors.js";
export { AuthFailureLog } from "./event-log/auth-failure-log.js";
export { type EventLogAppend, EventLogWriter } from "./event-log/event-log-writer.js";
export {
  type CloudEvent,
  type CommandEvent,
  type DeviceChangedEvent,
  type DeviceDeletedEvent,
  type JobEvent,
  type JobExecutionEvent,
  PRESENCE_REASONS,
  type PresenceEvent,
  type PresenceReason,
  type StateEvent,
  type StatusEvent,
} from "./events.js";
export { GroupService, type GroupServiceOptions, type NewGroupInput } from "./groups/group-service.js";
export type { ConnectionHandle, DeviceConnection } from "./hub/connection.js";
export {
  DeviceHub,
  type DeviceHubEvents,
  type DeviceHubOptions,
  type HandshakeContributor,
  type HandshakeState,
  type HubStats,
  type SessionRequestHandler,
} from "./hub/device-hub.js";
export type { PresenceOp } from "./hub/presence-ops.js";
export { Session } from "./hub/session.js";
export { TrustedProxies } from "./hub/trusted-proxies.js";
export { HubWebSocketServer, type HubWebSocketServerOptions } from "./hub/ws-transport.js";
export { type JobLeases, localJobLeases } from "./jobs/job-leases.js";
export {
  currentRate,
  neededSuccesses,
  RatePacer,
  REJECTION_CODES,
  type Tripped,
  trippedRule,
  type WaveStep,
  waveSizes,
  waveStep,
} from "./jobs/job-rules.js";
export { JobRunner } from "./jobs/job-runner.js";
export { JobService, type JobServiceOptions, type JobView } from "./jobs/job-service.js";
export {
  assertKnownTargets,
  assertTargets,
  countTargets,
  resolveTargets,
  targetPages,
  targetsDevice,
} from "./jobs/job-targets.js";
export {
  type AbortOn,
  type AbortRule,
  EXECUTION_STATUSES,
  type ExecutionCounts,
  type ExecutionPatch,
  type ExecutionQuery,
  type ExecutionStatus,
  type ExponentialRollout,
  emptyCounts,
  IN_FLIGHT_STATUSES,
  isFinishedExecution,
  type Job,
  type JobExecution,
  type JobPatch,
  type JobQuery,
  type JobReason,
  type JobRepository,
  type JobSpec,
  type JobStatus,
  type JobTargets,
  type Rollout,
  type Wave,
} from "./jobs/job-types.js";
export {
  DEFAULT_MAX_IN_FLIGHT,
  InvalidRolloutError,
  JOB_LIMITS,
  type NewJobInput,
  validateJobInput,
  validateTargetInput,
} from "./jobs/job-validation.js";
export { decodeRecords, encodeRecord, type JournalContents, JournalFile } from "./journal/journal-file.js";
export {
  type JournalCounts,
  type JournalEntry,
  type JournalKind,
  WriteJournal,
} from "./journal/write-journal.js";
export * from "./repos/index.js";
export { StateService, type StateServiceOptions, type StateView, stateDelta } from "./state/state-service.js";
export { StatusIngest, type StatusIngestOptions, type StatusRetention } from "./status/status-ingest.js";
export {
  StatusQuota,
  type StatusQuotaOptions,
  type StatusQuotaStats,
  type StatusRefusal,
} from "./status/status-quota.js";
export { type Clock, systemClock } from "./util/clock.js";
export { CLOUDEDGE_EPOCH, createIdGenerator, type IdGenerator } from "./util/ids.js";
export { jsonLogger, type Logger, silentLogger } from "./util/logger.js";
export {
  type CloseOutcome,
  type Spill,
  WriteBehind,
  type WriteBehindOptions,
} from "./util/write-behind.js";
