export { INITIAL_GENERATION } from "./device-model.js";
export { parseId } from "./ids.js";
export { createMemoryStore } from "./memory/memory-store.js";
export { type OpenStoreOptions, openStore, sqliteFilePath } from "./open-store.js";
export { DEFAULT_PAGE_LIMIT, decodeCursor, encodeCursor, MAX_PAGE_LIMIT } from "./paging.js";
export type { Dialect } from "./sql/dialect.js";
export { type Migration, SchemaTooNewError } from "./sql/migration.js";
export type { Row, SqlParam } from "./sql/rows.js";
export type { DuplicateKey, OnDuplicate, RunOptions, SqlDb, SqlRunner } from "./sql/sql-db.js";
export { DEFAULT_STORE_TIMEOUT_MS } from "./sql/sql-db.js";
export { SqlStore } from "./sql/sql-store.js";
export { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from "./status-model.js";
export type {
  ApiToken,
  CommandError,
  CommandLoad,
  CommandQuery,
  CommandRecord,
  CommandRepository,
  Device,
  DeviceCredentials,
  DeviceEvent,
  DeviceEventKind,
  DevicePatch,
  DeviceQuery,
  DeviceRepository,
  DeviceState,
  EventLogRepository,
  EventQuery,
  Group,
  GroupRepository,
  Hardware,
  NewDevice,
  Nic,
  Page,
  PageQuery,
  PresenceWrite,
  Software,
  StateRepository,
  StatusHistoryQuery,
  StatusPrunePolicy,
  StatusRecord,
  StatusRepository,
  Store,
  TokenRepository,
  TokenScope,
} from "./types.js";
