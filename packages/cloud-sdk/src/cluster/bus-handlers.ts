import type { BusHandler, BusReply, BusRequest, BusRequestKind } from "./cluster-bus.js";

/**
 * The request handlers of one bus, one per kind (the shared part of `ClusterBus.serve`
 * for every implementation). A second handler for a kind is refused loudly: with one slot
 * per bus, the last caller used to win silently.
 */
export class BusHandlers {
  private readonly handlers = new Map<BusRequestKind, BusHandler>();

  serve<K extends BusRequestKind>(kind: K, handler: BusHandler<K>): () => void {
    if (this.handlers.has(kind)) throw new Error(`bus requests of kind "${kind}" are already served`);
    // Dispatch by `kind` guarantees the handler only sees requests of its kind.
    const registered = handler as unknown as BusHandler;
    this.handlers.set(kind, registered);
    return () => {
      if (this.handlers.get(kind) === registered) this.handlers.delete(kind);
    };
  }

  /**
   * Hands the request to its kind's handler; `{ok: false}` when no one serves that kind.
   * Never throws: a handler that throws instead of rejecting is turned into a rejection
   * (handlers are not wrapped in async functions, to save a promise hop per request).
   */
  handle(deviceId: string, request: BusRequest): Promise<BusReply> {
    const handler = this.handlers.get(request.kind);
    if (!handler) return Promise.resolve({ ok: false });
    try {
      return handler(deviceId, request);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
