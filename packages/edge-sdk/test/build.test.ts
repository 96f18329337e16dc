import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

// The package as users get it: `dist`, through the exports map, in a separate Node process.
// Needs `npm run build` (turbo builds before test).
const root = join(import.meta.dirname, "..");
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" }).trim();

const probeRoot = `
  const c = new m.EdgeClient({ url: "ws://127.0.0.1:1/ws", deviceId: "1", secret: "s" });
  console.log(JSON.stringify({ state: c.state, keys: Object.keys(m).sort(), backoff: typeof m.Backoff }));
`;
const probeNode = `
  console.log(JSON.stringify({ keys: Object.keys(m).sort(), boot: typeof m.readBootId() }));
`;

describe("built package", () => {
  it("imports the root and ./node as ESM and CJS with the same exports", () => {
    const esm = JSON.parse(
      node(["--input-type=module", "-e", `import * as m from "@cloudedge/edge-sdk"; ${probeRoot}`]),
    );
    const cjs = JSON.parse(node(["-e", `const m = require("@cloudedge/edge-sdk"); ${probeRoot}`]));
    expect(esm).toMatchObject({ state: "idle", backoff: "function" });
    expect(cjs).toEqual(esm);
    expect(esm.keys).toContain("EdgeClient");
    const nodeEsm = JSON.parse(
      node(["--input-type=module", "-e", `import * as m from "@cloudedge/edge-sdk/node"; ${probeNode}`]),
    );
    const nodeCjs = JSON.parse(node(["-e", `const m = require("@cloudedge/edge-sdk/node"); ${probeNode}`]));
    expect(nodeCjs).toEqual(nodeEsm);
    expect(nodeEsm.keys).toEqual(
      expect.arrayContaining([
        "FileStorage",
        "systemCollector",
        "execExecutor",
        "logsUploadExecutor",
        "createRotatingLog",
      ]),
    );
  });

  it("exports the contract suites under ./testing as ESM and CJS", () => {
    const probe = "console.log(JSON.stringify(Object.keys(m).sort()))";
    const esm = node([
      "--input-type=module",
      "-e",
      `import * as m from "@cloudedge/edge-sdk/testing"; ${probe}`,
    ]);
    const cjs = node(["-e", `const m = require("@cloudedge/edge-sdk/testing"); ${probe}`]);
    expect(JSON.parse(esm)).toEqual(["edgeStorageContract"]);
    expect(cjs).toEqual(esm);
  });

  it("ships type declarations for every entry and both module systems", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    for (const entry of [".", "./node", "./testing"]) {
      for (const condition of ["import", "require"]) {
        expect(readFileSync(join(root, pkg.exports[entry][condition].types), "utf8").length).toBeGreaterThan(
          100,
        );
      }
    }
    expect(readFileSync(join(root, "dist/index.d.ts"), "utf8")).toContain("declare class EdgeClient");
  });

  it("the root export bundles for the browser with no node: imports", async () => {
    const result = await build({
      stdin: { contents: 'export * from "@cloudedge/edge-sdk";', resolveDir: root },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((file) => file.endsWith("dist/index.js"))).toBe(true);
    expect(
      inputs.filter(
        (file) => file.startsWith("node:") || file.includes("(disabled)") || file.includes("/ws/lib/"),
      ),
    ).toEqual([]);
    expect(result.outputFiles[0]!.text).not.toMatch(/from\s*["']node:|require\(["']node:/);
  });
});
