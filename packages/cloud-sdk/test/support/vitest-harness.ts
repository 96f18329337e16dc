import { afterEach, beforeEach, describe, it } from "vitest";
import type { TestHarness } from "../../src/testing/harness.js";

/** vitest's four functions, as the published contract suites take them. */
export const vitestHarness: TestHarness = { describe, it, beforeEach, afterEach };
