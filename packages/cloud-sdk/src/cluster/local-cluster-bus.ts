import type { CloudEvent } from "../events.js";
import type { BusHandler, BusReply, BusRequest, ClusterBus } from "./cluster-bus.js";

/** The ClusterBus of a single process: everything stays in memory. */
export class LocalClusterBus implements ClusterBus {
  private readonly listeners = new Set<(event: CloudEvent) => void>();
  private readonly held = new Set<string>();
  private handler: BusHandler | undefined;

  constructor(readonly nodeId = "local") {}

  async publish(event: CloudEvent): Promise<void> {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must not stop the others (or the publisher).
      }
    }
  }

  subscribe(listener: (event: CloudEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  serve(handler: BusHandler): void {
    this.handler = handler;
  }

  async hold(deviceId: string): Promise<void> {
    this.held.add(deviceId);
  }

  async release(deviceId: string): Promise<void> {
    this.held.delete(deviceId);
  }

  async request(deviceId: string, request: BusRequest): Promise<BusReply | "no_responders"> {
    if (!this.held.has(deviceId) || !this.handler) return "no_responders";
    return this.handler(deviceId, request);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.held.clear();
  }
}
