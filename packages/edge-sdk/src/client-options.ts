import type { HelloPdu } from "@cloudedge/protocol";
import type { BackoffOptions } from "./backoff.js";
import type { Clock } from "./clock.js";
import type { Collector } from "./collector.js";
import type { DedupeTableOptions } from "./dedupe-table.js";
import type { Executor } from "./executor.js";
import type { Logger } from "./logger.js";
import type { EdgeStorage } from "./storage.js";
import type { SocketFactory } from "./transport.js";

/** Configuration of an EdgeClient. Identity: `deviceId`, or `serialNumber` + `model`. */
export interface EdgeClientOptions {
  /** Hub endpoint, e.g. `wss://hub.example:9090/ws`. */
  url: string;
  deviceId?: string;
  serialNumber?: string;
  model?: string;
  /** The device secret; used when there is no valid token (and after a 4012). */
  secret?: string;
  /** Names the software speaking the protocol. Default `{name: "cloudedge-edge-sdk", version: "0.1.0"}`. */
  agent?: { name: string; version: string };
  /** Changes at every boot of the device; default a random UUID per process. */
  bootId?: string;
  /**
   * What `hello` says about the hardware (the hub keeps its `nics`). A function is asked at
   * every `hello`, so facts re-read on change (e.g. by `system.info`) reach the next session.
   */
  hardware?: HelloPdu["hardware"] | (() => HelloPdu["hardware"]);
  software?: HelloPdu["software"];
  /** Where the token, dedupe table, state and outbox live. Default in memory. */
  storage?: EdgeStorage;
  clock?: Clock;
  /** Uniform random in [0, 1) for jitter. Default Math.random. */
  random?: () => number;
  backoff?: Omit<BackoffOptions, "random">;
  /** Socket open + `welcome` must happen within this. Default 20 s. */
  handshakeTimeoutMs?: number;
  /** Outbox bound (status reports and results kept while offline). Default 1,000. */
  outboxMax?: number;
  dedupe?: DedupeTableOptions;
  executors?: Executor[];
  collectors?: Collector[];
  /** Report status from the collectors this often (also while offline, into the outbox). 0 = off (default). */
  statusIntervalMs?: number;
  /** Time limit of one collection. Default 5 s. */
  collectTimeoutMs?: number;
  /** Opens WebSockets; default isomorphic-ws. */
  createSocket?: SocketFactory;
  logger?: Logger;
}
