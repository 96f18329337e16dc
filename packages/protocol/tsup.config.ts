import { defineConfig } from "tsup";
import { libraryConfig } from "../../tsup.shared";

export default defineConfig(
  libraryConfig(
    { index: "src/index.ts", "merge-patch": "src/merge-patch.ts", "command-status": "src/command-status.ts" },
    { platform: "neutral" },
  ),
);
