#!/usr/bin/env node
// Prints the image tag for a build: <YYYYMMDD-HHmmss>-<short sha>, time in UTC.
//   node examples/server/scripts/image-tag.mjs [--time <ISO 8601>] [--sha <git sha>]
// Defaults: now, and `git rev-parse HEAD`. Used by .github/workflows/ci-image.yml.
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";

/** The tag for a build time and commit. */
export function imageTag(time, sha) {
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) throw new Error("invalid build time");
  if (!/^[0-9a-f]{7,40}$/i.test(sha)) throw new Error(`invalid git sha: ${sha}`);
  const pad = (n) => String(n).padStart(2, "0");
  const date = `${time.getUTCFullYear()}${pad(time.getUTCMonth() + 1)}${pad(time.getUTCDate())}`;
  const clock = `${pad(time.getUTCHours())}${pad(time.getUTCMinutes())}${pad(time.getUTCSeconds())}`;
  return `${date}-${clock}-${sha.slice(0, 7).toLowerCase()}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { time: { type: "string" }, sha: { type: "string" } } });
  const time = values.time ? new Date(values.time) : new Date();
  const sha = values.sha ?? execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  try {
    process.stdout.write(`${imageTag(time, sha)}\n`);
  } catch (error) {
    process.stderr.write(`image-tag: ${error.message}\n`);
    process.exit(2);
  }
}
