// @cloudedge/edge-sdk/node as the legacy agent sees it: everything real but the collector.
export * from "../../../packages/edge-sdk/dist/node.js";
export { legacySystemCollector as systemCollector } from "./legacy-collector.mjs";
