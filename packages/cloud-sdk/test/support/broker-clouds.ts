import { afterEach } from "vitest";
import type { Cloud, Store } from "../../src/index.js";
import { createTeardown } from "../../src/testing/teardown.js";
import { makeCloud } from "./cloud-fixture.js";

/** `makeCloud` for the broker tests: every cloud it makes is closed after its test. */
export function brokerClouds() {
  const teardown = createTeardown(afterEach);
  const forget = new WeakMap<Cloud, () => void>();
  return {
    async make(overrides: Parameters<typeof makeCloud>[0] = {}, store?: Store) {
      const fixture = await makeCloud(overrides, store);
      forget.set(
        fixture.cloud,
        teardown.add(() => fixture.cloud.close({ graceMs: 0 })),
      );
      return fixture;
    },
    /** Leaves a cloud unclosed: a process that "died" on a store another cloud goes on using. */
    abandon(cloud: Cloud) {
      forget.get(cloud)?.();
    },
  };
}
