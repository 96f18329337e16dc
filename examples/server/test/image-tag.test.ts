import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { imageTag } from "../scripts/image-tag.mjs";

const SCRIPT = join(import.meta.dirname, "../scripts/image-tag.mjs");

describe("image tag <YYYYMMDD-HHmmss>-<short sha>", () => {
  it.each([
    ["2026-11-25T19:21:39Z", "6327f69abcdef0123456789", "20261125-192139-6327f69"],
    ["2026-01-02T03:04:05.999Z", "ABCDEF1", "20260102-030405-abcdef1"],
    ["2026-12-31T23:59:59+02:00", "0123456789abcdef0123456789abcdef01234567", "20261231-215959-0123456"],
  ])("%s + %s → %s (UTC)", (time, sha, tag) => {
    expect(imageTag(new Date(time), sha)).toBe(tag);
  });

  it("refuses a bad sha or time", () => {
    expect(() => imageTag(new Date("2026-01-01T00:00:00Z"), "not-a-sha")).toThrow(/sha/);
    expect(() => imageTag(new Date("nonsense"), "abcdef1")).toThrow(/time/);
  });

  it("the CLI prints the tag for HEAD by default, and exits 2 on bad input", () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const out = execFileSync(process.execPath, [SCRIPT, "--time", "2026-11-25T10:00:00Z"], {
      encoding: "utf8",
    }).trim();
    expect(out).toBe(`20261125-100000-${head.slice(0, 7)}`);
    const bad = spawnSync(process.execPath, [SCRIPT, "--sha", "zzz"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("invalid git sha");
  });
});
