import { defineConfig } from "tsup";
import { libraryConfig } from "../../tsup.shared";

// An app: ESM only, no declarations; main.ts keeps its shebang.
export default defineConfig(
  libraryConfig({ main: "src/main.ts" }, { platform: "node", format: ["esm"], dts: false }),
);
