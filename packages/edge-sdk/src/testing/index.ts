/**
 * @cloudedge/edge-sdk/testing — contract suites any implementation of an edge-sdk interface
 * can run with its own test runner: `edgeStorageContract` for an EdgeStorage backend.
 */
export { type EdgeStorageHooks, edgeStorageContract } from "./edge-storage-contract.js";
export type { TestHarness } from "./harness.js";
