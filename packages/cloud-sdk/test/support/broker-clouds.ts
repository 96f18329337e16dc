import { afterEach } from "vitest";
import type { Cloud, Store } from "../../src/index.js";
import { makeCloud } from "./cloud-fixture.js";

/** `makeCloud` for the broker tests: every cloud it makes is closed after its test. */
export function brokerClouds() {
  let clouds: Cloud[] = [];
  afterEach(async () => {
    for (const cloud of clouds) await cloud.close({ graceMs: 0 });
    clouds = [];
  });
  return {
    async make(overrides: Parameters<typeof makeCloud>[0] = {}, store?: Store) {
      const fixture = await makeCloud(overrides, store);
      clouds.push(fixture.cloud);
      return fixture;
    },
    /** Leaves a cloud unclosed: a process that "died" on a store another cloud goes on using. */
    abandon(cloud: Cloud) {
      clouds = clouds.filter((c) => c !== cloud);
    },
  };
}
