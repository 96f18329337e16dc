/**
 * @cloudedge/protocol — wire protocol v1 shared by hub and devices (docs/protocol.md).
 * No I/O; runs in Node and browsers.
 */

export {
  type CodecOptions,
  type DecodeOptions,
  type DecodeResult,
  decode,
  encode,
  encodeBytes,
  isPdu,
} from "./codec.js";
export {
  CLOSE_CODES,
  CloseCode,
  ERROR_CODES,
  ErrorCode,
  formatRetryAfter,
  parseRetryAfter,
  type ReconnectAdvice,
} from "./codes.js";
export { ACTIVE_COMMAND_STATUSES, TERMINAL_COMMAND_STATUSES } from "./command-status.js";
export {
  DEFAULT_DOCUMENT_LIMITS,
  DOCUMENT_ENVELOPE_BYTES,
  DOCUMENT_ENVELOPE_DEPTH,
  type DocumentLimits,
  documentLimitsFor,
  findDocumentViolation,
  findLimitViolation,
  type LimitName,
  type LimitViolation,
  type StructureLimits,
} from "./document-limits.js";
export {
  isProtocolError,
  MAX_ISSUES,
  ProtocolError,
  type ProtocolErrorOptions,
  type ProtocolIssue,
} from "./errors.js";
export { pduJsonSchema, protocolJsonSchemas, SCHEMA_BASE, SCHEMA_DIALECT } from "./json-schema.js";
export { DEFAULT_LIMITS, type DecodeLimits, resolveLimits } from "./limits.js";
export { clearLongTimeout, type LongTimeout, MAX_TIMER_MS, setLongTimeout } from "./long-timeout.js";
export {
  COMMAND_STATUSES,
  type CommandEvent,
  CommandStatus,
  commandMachine,
  commandTransition,
  isTerminalStatus,
} from "./machines/command.js";
export {
  type ConnectionEvent,
  ConnectionState,
  connectionMachine,
  connectionTransition,
} from "./machines/connection.js";
export {
  JOB_STATUSES,
  type JobEvent,
  JobStatus,
  jobMachine,
  jobTransition,
} from "./machines/job.js";
export { defineMachine, IllegalTransitionError, type StateMachine } from "./machines/machine.js";
export {
  applyMergePatch,
  createMergePatch,
  isEmptyPatch,
  type JsonObject,
  type JsonPrimitive,
  type JsonValue,
  jsonEqual,
  setOwn,
} from "./merge-patch.js";
export { documentLimitError, documentViolationError } from "./pdu-documents.js";
export {
  AckPdu,
  ByePdu,
  CmdPdu,
  DesiredPdu,
  type DevicePdu,
  ErrorPdu,
  HelloPdu,
  type HubPdu,
  PDU_SCHEMAS,
  PDU_TYPES,
  type Pdu,
  type PduOf,
  type PduType,
  PingPdu,
  PongPdu,
  REFINEMENTS,
  ReportedPdu,
  ResultPdu,
  type Sender,
  type StatusData,
  StatusPdu,
  WelcomePdu,
} from "./pdus.js";
export { negotiateVersion, PROTOCOL_VERSION, PROTOCOL_VERSIONS } from "./version.js";
