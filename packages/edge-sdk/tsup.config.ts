import { defineConfig } from "tsup";
import { libraryConfig } from "../../tsup.shared";

// Three entries: the browser-safe root, the Node-only built-ins (./node) and the contract
// suites for implementers (./testing, Node: it asserts with node:assert).
export default defineConfig(
  libraryConfig(
    { index: "src/index.ts", node: "src/node/index.ts", testing: "src/testing/index.ts" },
    { platform: "node" },
  ),
);
