import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, sqliteFilePath } from "../../src/repos/index.js";
import { newDevice, rejection } from "../../src/testing/fixtures.js";

describe("openStore", () => {
  const dir = mkdtempSync(join(tmpdir(), "cloudedge-open-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("opens memory: and sqlite::memory:", async () => {
    for (const [url, dialect] of [
      ["memory:", "memory"],
      ["sqlite::memory:", "sqlite"],
    ] as const) {
      const store = await openStore(url);
      expect(store.dialect).toBe(dialect);
      await store.ping();
      await store.close();
    }
  });

  it("creates the parent directory of a sqlite file", async () => {
    const path = join(dir, "nested", "deeper", "cloudedge.db");
    const store = await openStore(`sqlite:${path}`);
    await store.close();
    expect(existsSync(path)).toBe(true);
    const again = await openStore(`sqlite://${path}`);
    await again.close();
  });

  it("gives timeoutMs to SQLite as its busy timeout: a lock held past it is store_unavailable", async () => {
    const path = join(dir, "busy.db");
    const store = await openStore(`sqlite:${path}`, { timeoutMs: 50 });
    const blocker = new Database(path);
    blocker.prepare("BEGIN IMMEDIATE").run();
    try {
      const err = await rejection(store.devices.create(newDevice()));
      expect(err).toMatchObject({ code: "store_unavailable", status: 503 });
      expect((err as { cause?: { code?: string } }).cause?.code).toBe("SQLITE_BUSY");
    } finally {
      blocker.prepare("ROLLBACK").run();
      blocker.close();
      await store.close();
    }
  });

  it("creates the directory 0700 and the database with its WAL files 0600 (they hold hashes)", async () => {
    const path = join(dir, "private", "cloudedge.db");
    const store = await openStore(`sqlite:${path}`);
    await store.ping();
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(join(dir, "private"))).toBe(0o700);
    for (const file of [path, `${path}-wal`, `${path}-shm`])
      expect([file, mode(file)]).toEqual([file, 0o600]);
    await store.close();
    expect(sqliteFilePath(`sqlite://${path}`)).toBe(path);
    expect(sqliteFilePath("sqlite::memory:")).toBeUndefined();
    expect(sqliteFilePath("mysql://root@127.0.0.1:3306/test")).toBeUndefined();
  });

  it("refuses an unknown scheme, naming only the scheme", async () => {
    const err = await rejection(openStore("postgres://admin:hunter2@db/cloudedge"));
    expect(String(err)).toContain('"postgres:"');
    expect(String(err)).not.toContain("hunter2");
    expect(String(await rejection(openStore("cloudedge.db")))).toContain("invalid store URL");
    expect(String(await rejection(openStore("sqlite:")))).toContain("needs a path");
    expect(String(await rejection(openStore("mysql://root@127.0.0.1:3306")))).toContain(
      "must name a database",
    );
  });
});
