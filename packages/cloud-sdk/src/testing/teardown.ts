/** What a test registers to undo: servers, clouds, stores, connections, scratch databases. */
export interface Teardown {
  /** Registers a cleanup; cleanups run newest first, so a thing closes before what it uses. */
  add(cleanup: () => unknown): void;
  /**
   * Runs and forgets every registered cleanup, newest first. One failing does not skip the
   * rest; the first failure is rethrown once all ran (unless `ignoreErrors`).
   */
  run(): Promise<void>;
}

export interface TeardownOptions {
  /** Swallow cleanup failures: for tests that leave resources deliberately broken. */
  ignoreErrors?: boolean;
}

/**
 * A Teardown whose `run` is registered on `after` when given — the runner's `afterEach`,
 * or `afterAll` for resources a whole file shares (any runner: vitest, jest, mocha, node:test).
 */
export function createTeardown(
  after?: (fn: () => Promise<void>) => void,
  options: TeardownOptions = {},
): Teardown {
  const cleanups: Array<() => unknown> = [];
  const teardown: Teardown = {
    add(cleanup) {
      cleanups.push(cleanup);
    },
    async run() {
      const failures: unknown[] = [];
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          await cleanup();
        } catch (err) {
          failures.push(err);
        }
      }
      if (failures.length > 0 && !options.ignoreErrors) throw failures[0];
    },
  };
  after?.(() => teardown.run());
  return teardown;
}
