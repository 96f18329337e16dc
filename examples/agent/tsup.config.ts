import { defineConfig } from "tsup";
import { libraryConfig } from "../../tsup.shared";

// An app: ESM only, no declarations; main.ts keeps its shebang. Beside it, the single-file
// bundle a device installs (dist/bundle/cloudedge-agent.mjs, every dependency inlined, no
// native addon; test/bundle.test.ts runs a copy of it alone). No clean: both builds share dist/.
export default defineConfig([
  libraryConfig(
    { main: "src/main.ts", agent: "src/agent.ts" },
    { platform: "node", format: ["esm"], dts: false, clean: false },
  ),
  {
    entry: { "cloudedge-agent": "src/main.ts" },
    outDir: "dist/bundle",
    outExtension: () => ({ js: ".mjs" }),
    format: ["esm"],
    platform: "node",
    target: "node20",
    // Everything inlined but native addons: ssh2's crypto and cpu-features are optional, and
    // their require() must fail (not yield {}) for ssh2 to fall back to its JS ciphers.
    noExternal: [/^(?!.*\.node$)/],
    external: [/\.node$/],
    splitting: false,
    sourcemap: false,
    clean: false,
    dts: false,
    // CommonJS dependencies (ws, pino, ssh2) call require() and read __dirname: give the ESM
    // bundle both.
    banner: {
      js: [
        'import { createRequire as __ceRequire } from "node:module";',
        'import { dirname as __ceDirname } from "node:path";',
        'import { fileURLToPath as __ceFileURLToPath } from "node:url";',
        "const require = __ceRequire(import.meta.url);",
        "const __filename = __ceFileURLToPath(import.meta.url);",
        "const __dirname = __ceDirname(__filename);",
      ].join(" "),
    },
  },
]);
