import { defineConfig } from "tsup";
import { libraryConfig } from "../../tsup.shared";

// An app, not a library: ESM only, no declarations; main.ts keeps its shebang.
export default defineConfig(
  libraryConfig(
    { app: "src/app.ts", main: "src/main.ts" },
    { platform: "node", format: ["esm"], dts: false },
  ),
);
