import { defineConfig } from "tsup";
import { libraryConfig } from "../../tsup.shared";

export default defineConfig(libraryConfig({ index: "src/index.ts" }, { platform: "node" }));
