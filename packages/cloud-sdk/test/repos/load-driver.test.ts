import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { DriverMissingError } from "../../src/errors.js";
import { loadDriver } from "../../src/repos/load-driver.js";
import { rejection } from "../../src/testing/fixtures.js";

// Real loader failures: a package that is not installed, imported (ESM) and required (CJS).
const MISSING = "cloudedge-no-such-driver";
const importMissing = (specifier: string) => () => import(/* @vite-ignore */ specifier);

describe("loadDriver", () => {
  it("resolves to the module when the driver is installed", async () => {
    const sqlite = await loadDriver("better-sqlite3", () => import("../../src/repos/sqlite/sqlite-store.js"));
    expect(typeof sqlite.createSqliteStore).toBe("function");
  });

  it("turns the driver's package missing into driver_missing, naming what to install", async () => {
    for (const specifier of [MISSING, `${MISSING}/promise`]) {
      const err = await rejection(loadDriver(MISSING, importMissing(specifier)));
      expect(err).toBeInstanceOf(DriverMissingError);
      expect(err).toMatchObject({ code: "driver_missing", packageName: MISSING });
      expect((err as Error).message).toContain(`npm i ${MISSING}`);
      expect((err as { cause?: { code?: string } }).cause?.code).toBe("ERR_MODULE_NOT_FOUND");
    }
  });

  it("knows the CommonJS loader's MODULE_NOT_FOUND too", async () => {
    const require = createRequire(import.meta.url);
    const err = await rejection(loadDriver(MISSING, async () => require(`${MISSING}/promise`)));
    expect(err).toMatchObject({ code: "driver_missing", packageName: MISSING });
  });

  it("passes other failures through: another package missing, or the driver failing to load", async () => {
    const other = await rejection(loadDriver("mysql2", importMissing(MISSING)));
    expect(other).not.toBeInstanceOf(DriverMissingError);
    expect(other).toMatchObject({ code: "ERR_MODULE_NOT_FOUND" });
    const broken = new Error("could not locate the bindings file");
    expect(await rejection(loadDriver("better-sqlite3", () => Promise.reject(broken)))).toBe(broken);
  });
});
