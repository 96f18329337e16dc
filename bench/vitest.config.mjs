import { defineConfig } from "vitest/config";

// The smoke runs start real processes and sockets: one file, long timeouts, no parallelism.
export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    testTimeout: 90_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
});
