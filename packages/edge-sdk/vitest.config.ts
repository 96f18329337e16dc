import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // The examples import the package by name, as users do; in tests that is the source.
  resolve: {
    alias: [
      { find: /^@cloudedge\/edge-sdk\/node$/, replacement: src("./src/node/index.ts") },
      { find: /^@cloudedge\/edge-sdk$/, replacement: src("./src/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
