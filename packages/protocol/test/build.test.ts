import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" }).trim();

// The package as users get it: `dist`, through the exports map, in a separate Node process.
const probe = `
  const ok = p.decode('{"type":"ping","seq":1}').ok;
  const bad = p.decode('{"type":"ping"}').error.code;
  console.log(JSON.stringify({ ok, bad, close: p.CloseCode.REPLACED, keys: Object.keys(p).length }));
`;

describe("built package", () => {
  it("imports as ESM from dist", () => {
    const out = node(["--input-type=module", "-e", `import * as p from "@cloudedge/protocol"; ${probe}`]);
    expect(JSON.parse(out)).toMatchObject({ ok: true, bad: "invalid_pdu", close: 4004 });
  });

  it("requires as CJS from dist, with the same exports as ESM", () => {
    const cjs = JSON.parse(node(["-e", `const p = require("@cloudedge/protocol"); ${probe}`]));
    const esm = JSON.parse(
      node(["--input-type=module", "-e", `import * as p from "@cloudedge/protocol"; ${probe}`]),
    );
    expect(cjs).toEqual(esm);
  });

  it("ships type declarations for both module systems", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    for (const condition of ["import", "require"]) {
      const types = pkg.exports["."][condition].types as string;
      expect(readFileSync(join(root, types), "utf8")).toContain("declare function decode");
    }
  });

  it("offers merge patch alone as @cloudedge/protocol/merge-patch (small, for UIs)", () => {
    const out = node([
      "--input-type=module",
      "-e",
      `import { applyMergePatch } from "@cloudedge/protocol/merge-patch"; console.log(JSON.stringify(applyMergePatch({a:1},{b:2})))`,
    ]);
    expect(JSON.parse(out)).toEqual({ a: 1, b: 2 });
    const size = readFileSync(join(root, "dist/merge-patch.js"), "utf8").length;
    expect(size).toBeLessThan(10_000);
  });

  it("offers the command status lists alone as @cloudedge/protocol/command-status (small, for UIs)", () => {
    const out = node([
      "--input-type=module",
      "-e",
      `import { TERMINAL_COMMAND_STATUSES } from "@cloudedge/protocol/command-status"; console.log(JSON.stringify(TERMINAL_COMMAND_STATUSES))`,
    ]);
    expect(JSON.parse(out)).toEqual(["SUCCEEDED", "FAILED", "TIMED_OUT", "EXPIRED", "CANCELED"]);
    const size = readFileSync(join(root, "dist/command-status.js"), "utf8").length;
    expect(size).toBeLessThan(10_000);
  });

  it("bundles for the browser platform with no node: imports", async () => {
    const result = await build({
      stdin: { contents: 'export * from "@cloudedge/protocol";', resolveDir: root },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((file) => file === "dist/index.js" || file.endsWith("protocol/dist/index.js"))).toBe(
      true,
    );
    expect(inputs.filter((file) => file.startsWith("node:") || file.includes("(disabled)"))).toEqual([]);
    expect(result.outputFiles[0]!.text).not.toMatch(/from\s*["']node:|require\(["']node:/);
  });
});
