import type { Cloud, IdGenerator, Store } from "@cloudedge/cloud-sdk";
import type { Logger } from "pino";
import type { ApiTokens } from "./http/auth.js";
import type { EventStreamLimits } from "./routes/events.js";

/** What the HTTP layer is composed from; `createApp` takes it, tests build it freely. */
export interface AppDeps {
  cloud: Cloud;
  /** For readiness (the database answers) and what the SDK does not wrap. */
  store: Store;
  tokens: ApiTokens;
  /**
   * Not used by the built-in routes any more (the Cloud's services mint every id); still
   * accepted so compositions written against the earlier AppDeps keep compiling.
   */
  ids?: IdGenerator;
  logger: Logger;
  /** Largest accepted request body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Serve /metrics. Default true. */
  metrics?: boolean;
  /** Require an API token on the original system's /service endpoints. Default true. */
  legacyAuth?: boolean;
  /** SSE keep-alive comment interval. Default 15 s. */
  sseHeartbeatMs?: number;
  /** SSE limits: streams per token, unsent bytes per stream. */
  sse?: EventStreamLimits;
}
