/**
 * @cloudedge/edge-sdk/node — Node-only built-ins: file storage, boot id, system metrics
 * collector, executors (system.*, exec, logs.tail, logs.upload over SFTP) and a rotating
 * local log.
 */
export { readBootId } from "./boot-id.js";
export {
  type ExecCommand,
  type ExecExecutorOptions,
  type ExecParam,
  execExecutor,
} from "./executors/exec.js";
export { type LogsTailOptions, logsTailExecutor, tail } from "./executors/logs-tail.js";
export {
  type LogsUploadOptions,
  logsUploadExecutor,
  SftpErrorCode,
  type SftpTarget,
} from "./executors/logs-upload.js";
export { type SystemExecutorOptions, systemExecutors } from "./executors/system.js";
export { FileStorage } from "./file-storage.js";
export { type HostKeyCheck, hostKeyVerifier, sha256Fingerprint } from "./host-key.js";
export { createRotatingLog, type RotatingLog, type RotatingLogOptions } from "./rotating-log.js";
export { type SystemCollectorOptions, systemCollector } from "./system-collector.js";
export { helloHardware, readNics, readSystemFacts, type SystemFacts } from "./system-facts.js";
