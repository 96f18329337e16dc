import type { CloudEvent } from "../events.js";
import { BusHandlers } from "./bus-handlers.js";
import type {
  BusHandler,
  BusReply,
  BusRequest,
  BusRequestKind,
  ClusterBus,
  ClusterPresence,
  OrphanedSession,
} from "./cluster-bus.js";

/** The ClusterBus of a single process: everything stays in memory. */

const PUBLISHED: Promise<void> = Promise.resolve();
export class LocalClusterBus implements ClusterBus {
  private readonly listeners = new Set<(event: CloudEvent) => void>();
  private readonly held = new Set<string>();
  private readonly handlers = new BusHandlers();
  /**
   * One process sees every session there is: a device is here or nowhere, and no node can
   * die holding one while another lives, so no orphan is ever reported.
   */
  readonly presence: ClusterPresence = {
    shared: false,
    locate: async (deviceId) => (this.held.has(deviceId) ? this.nodeId : undefined),
    onOrphaned: (_handler: (orphan: OrphanedSession) => Promise<void>) => () => {},
  };

  constructor(readonly nodeId = "local") {}

  // Not async: every command change is published, and one settled promise serves them all.
  publish(event: CloudEvent): Promise<void> {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must not stop the others (or the publisher).
      }
    }
    return PUBLISHED;
  }

  subscribe(listener: (event: CloudEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  serve<K extends BusRequestKind>(kind: K, handler: BusHandler<K>): () => void {
    return this.handlers.serve(kind, handler);
  }

  async hold(deviceId: string): Promise<void> {
    this.held.add(deviceId);
  }

  async release(deviceId: string): Promise<void> {
    this.held.delete(deviceId);
  }

  // Not async: the handler's promise is handed back as it is, one hop fewer per command.
  request(deviceId: string, request: BusRequest): Promise<BusReply | "no_responders"> {
    if (!this.held.has(deviceId)) return Promise.resolve("no_responders");
    return this.handlers.handle(deviceId, request);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.held.clear();
  }
}
