import type { Options } from "tsup";

/**
 * The one tsup config every package builds with: ESM + CJS + d.ts, sourcemaps,
 * dependencies left external. Packages pass only their entry points (and platform).
 */
export function libraryConfig(entry: Record<string, string>, overrides: Options = {}): Options {
  return {
    entry,
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "es2022",
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}
