import type { ClientStore } from "./client-store.js";
import { EdgeErrorCode } from "./errors.js";
import type { Fail } from "./fail.js";
import type { DesiredChange } from "./state-sync.js";

/** Receives desired-state changes (EdgeClient.onDesired). */
export type DesiredHandler = (change: DesiredChange) => void | Promise<void>;

/**
 * Hands applied desired-state changes to the handlers one at a time, in version order, and
 * only once the new document is persisted; then emits `desired`. A failing handler is
 * reported and does not stop the others.
 */
export class DesiredDispatch {
  private readonly handlers = new Set<DesiredHandler>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      store: ClientStore;
      fail: Fail;
      storageFailed: (error: unknown) => void;
      emit: (change: DesiredChange) => void;
    },
  ) {}

  /** Adds a handler; returns a function that removes it. */
  subscribe(handler: DesiredHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Persists the desired document and queues `change` for the handlers. */
  queue(change: DesiredChange): void {
    const saved = this.deps.store.save("desired");
    this.chain = this.chain.then(async () => {
      await saved.catch((e) => this.deps.storageFailed(e));
      for (const handler of this.handlers) {
        try {
          await handler(change);
        } catch (error) {
          this.deps.fail(EdgeErrorCode.DESIRED_HANDLER_FAILED, "a desired-state handler failed", error);
        }
      }
      this.deps.emit(change);
    });
  }

  /** Resolves when the changes queued so far went through every handler. */
  idle(): Promise<void> {
    return this.chain;
  }
}
