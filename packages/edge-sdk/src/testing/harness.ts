/**
 * The little a contract suite needs from a test runner, so that any runner can run ours
 * (as aedes-persistence's abstract suite does): vitest, jest, mocha and `node:test` all
 * provide these four under these names. Suites assert with `node:assert/strict`.
 * (The same shape as cloud-sdk's; defined here so the edge side does not depend on the cloud.)
 */
export interface TestHarness {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void> | void, timeoutMs?: number): void;
  beforeEach(fn: () => Promise<void> | void): void;
  afterEach(fn: () => Promise<void> | void): void;
}
