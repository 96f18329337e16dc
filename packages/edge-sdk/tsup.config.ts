import { defineConfig } from "tsup";
import { libraryConfig } from "../../tsup.shared";

// Two entries: the browser-safe root and the Node-only built-ins (./node).
export default defineConfig(
  libraryConfig({ index: "src/index.ts", node: "src/node/index.ts" }, { platform: "node" }),
);
