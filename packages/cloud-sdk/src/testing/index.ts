/**
 * @cloudedge/cloud-sdk/testing — the published test kit: runner-agnostic contract suites a
 * third-party backend runs against its own implementation, and the helpers they share.
 */
export type { TestHarness } from "./harness.js";
