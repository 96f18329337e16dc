import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTeardown } from "../../src/testing/teardown.js";
import { MysqlTestDatabase } from "../repos/mysql-test-server.js";

const run = promisify(execFile);
const PACKAGES = resolve(import.meta.dirname, "../../..");
const SCRATCH_FILES = resolve(import.meta.dirname, "scratch");

/** The caller's npm_* settings (workspace, prefix) are not the scratch project's. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run("npm", args, { cwd, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

async function node(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd, env: cleanEnv() });
  return stdout;
}

/**
 * What a user gets from the registry: the packed tarballs of protocol and cloud-sdk installed
 * in a fresh project with mysql2 only — no better-sqlite3, no nats (optional peers).
 */
describe("the packed package in a fresh project (npm pack + npm i)", () => {
  const teardown = createTeardown(afterAll);
  let project: string;

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), "cloudedge-pack-"));
    teardown.add(() => rm(project, { recursive: true, force: true }));
    const tarballs: string[] = [];
    for (const name of ["protocol", "cloud-sdk"]) {
      const [packed] = JSON.parse(
        await npm(join(PACKAGES, name), ["pack", "--json", "--pack-destination", project]),
      ) as Array<{ filename: string }>;
      tarballs.push(join(project, packed?.filename ?? ""));
    }
    await writeFile(
      join(project, "package.json"),
      JSON.stringify({ name: "scratch", private: true, type: "module" }),
    );
    for (const file of await readdir(SCRATCH_FILES)) {
      await copyFile(join(SCRATCH_FILES, file), join(project, file));
    }
    await npm(project, [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      ...tarballs,
      "mysql2@^3.24.5",
    ]);
  }, 300_000);

  it("installs without the optional drivers", async () => {
    const installed = await readdir(join(project, "node_modules"));
    expect(installed).toContain("mysql2");
    expect(installed).toContain("bcrypt");
    expect(installed).not.toContain("better-sqlite3");
    expect(installed).not.toContain("nats");
  });

  it("opens a MySQL store through openStore, and names better-sqlite3 / fails nats when asked for them", async () => {
    const database = await MysqlTestDatabase.create();
    teardown.add(() => database.drop());
    const report = JSON.parse(await node(project, ["round-trip.mjs", database.url]));
    expect(report).toEqual({
      dialect: "mysql",
      devices: ["packed"],
      sqlite: {
        driverMissing: true,
        code: "driver_missing",
        message:
          "the optional package better-sqlite3 is not installed; install it with: npm i better-sqlite3",
      },
      nats: "ERR_MODULE_NOT_FOUND",
    });
    // The CommonJS build, whose driver chunk fails with MODULE_NOT_FOUND instead.
    expect(JSON.parse(await node(project, ["round-trip.cjs"]))).toEqual({
      sqlite: { driverMissing: true, code: "driver_missing" },
    });
  }, 60_000);

  it("runs the published contract suite under node:test from the tarball", async () => {
    const output = await node(project, ["--test", "--test-reporter=tap", "contract.test.mjs"]);
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(output)?.[1]);
    expect(count("fail")).toBe(0);
    expect(count("pass")).toBeGreaterThan(50);
  }, 120_000);
});
