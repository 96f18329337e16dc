import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SchemaTooNewError, SqlStore, StoreUnavailableError } from "@cloudedge/cloud-sdk";
import {
  createSqliteStore,
  migrateSqlite,
  openSqliteDb,
  SQLITE_DIALECT,
  SQLITE_MIGRATIONS,
  SqliteDb,
} from "@cloudedge/cloud-sdk/sqlite";
import {
  BIG_ID,
  describeSqlDbContract,
  describeStoreContract,
  newDevice,
  rejection,
} from "@cloudedge/cloud-sdk/testing";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { vitestHarness } from "../support/vitest-harness.js";

// The suites and the store both from the built package: one set of error classes.
// A private in-memory database per test: fresh, migrated, and gone on close.
describeStoreContract(vitestHarness, "sqlite", () => createSqliteStore({ path: ":memory:" }));

// The Dialect/SqlDb seam as a third-party backend uses it: its own Dialect (here derived from
// ours) and SqlDb handed to the public SqlStore, held to the same contract.
describeStoreContract(vitestHarness, "SqlStore over a dialect of its own", async () => {
  const store = new SqlStore(openSqliteDb({ path: ":memory:" }), {
    ...SQLITE_DIALECT,
    name: "sqlite-derived",
  });
  expect(store.dialect).toBe("sqlite-derived");
  return store;
});

describeSqlDbContract(vitestHarness, "sqlite", async () => {
  const raw = new Database(":memory:");
  migrateSqlite(raw);
  return new SqliteDb(raw);
});

describe("sqlite: migrations and files", () => {
  const dir = mkdtempSync(join(tmpdir(), "cloudedge-sqlite-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const migrationsOf = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return db
        .prepare("SELECT version, name, applied_at FROM cloudedge_migrations ORDER BY version")
        .all() as Array<{
        version: number;
        name: string;
        applied_at: number;
      }>;
    } finally {
      db.close();
    }
  };

  it("applies every migration once, records it, and is idempotent on re-open", async () => {
    const path = join(dir, "idempotent.db");
    const first = await createSqliteStore({ path });
    await first.devices.create(newDevice({ id: BIG_ID }));
    await first.close();
    const recorded = migrationsOf(path);
    expect(recorded.map((m) => m.version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
    expect(recorded[0]).toMatchObject({ version: 1, name: "initial schema" });
    expect(recorded[0]?.applied_at).toBeGreaterThan(0);

    const again = await createSqliteStore({ path });
    expect((await again.devices.get(BIG_ID))?.id).toBe(BIG_ID);
    await again.close();
    expect(migrationsOf(path)).toEqual(recorded);
  });

  it("stores ids as 64-bit integers, exactly", async () => {
    const path = join(dir, "ids.db");
    const store = await createSqliteStore({ path });
    await store.devices.create(newDevice({ id: BIG_ID }));
    await store.close();
    const db = new Database(path, { readonly: true });
    const row = db.prepare("SELECT typeof(id) AS type, CAST(id AS TEXT) AS text FROM devices").get();
    db.close();
    expect(row).toEqual({ type: "integer", text: BIG_ID });
  });

  it("opens file databases in WAL mode", async () => {
    const path = join(dir, "pragmas.db");
    const store = await createSqliteStore({ path });
    await store.close();
    const db = new Database(path);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  it("lets two stores open the same file at once", async () => {
    const path = join(dir, "shared.db");
    const [a, b] = await Promise.all([createSqliteStore({ path }), createSqliteStore({ path })]);
    await a.devices.create(newDevice({ id: "42" }));
    expect((await b.devices.get("42"))?.id).toBe("42");
    await Promise.all([a.close(), b.close()]);
    expect(migrationsOf(path)).toHaveLength(SQLITE_MIGRATIONS.length);
  });

  it("refuses a database migrated by a newer cloudedge", async () => {
    const path = join(dir, "future.db");
    await (await createSqliteStore({ path })).close();
    const db = new Database(path);
    db.prepare(
      "INSERT INTO cloudedge_migrations (version, name, applied_at) VALUES (999, 'future', 1)",
    ).run();
    db.close();
    const err = await rejection(createSqliteStore({ path }));
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect(String(err)).toContain("999");
  });

  it("reports a file it cannot open as store_unavailable, without the driver's message", async () => {
    const err = await rejection(createSqliteStore({ path: join(dir, "missing-dir", "x.db") }));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ code: "store_unavailable", message: "the database is unavailable" });
  });

  it("maps SQLITE_BUSY after the busy timeout to store_unavailable", async () => {
    const path = join(dir, "busy.db");
    const store = await createSqliteStore({ path, busyTimeoutMs: 50 });
    const blocker = new Database(path);
    blocker.prepare("BEGIN IMMEDIATE").run();
    try {
      const err = await rejection(store.devices.create(newDevice()));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as { cause?: { code?: string } }).cause?.code).toBe("SQLITE_BUSY");
    } finally {
      blocker.prepare("ROLLBACK").run();
      blocker.close();
      await store.close();
    }
  });
});
