import assert from "node:assert/strict";
import { CloudErrorCode, ConflictError, StoreUnavailableError } from "../errors.js";
import type { DuplicateKey, SqlDb, SqlRunner } from "../repos/sql/sql-db.js";
import { assertInstanceOf } from "./assertions.js";
import { rejection } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** A SqlDb over a freshly migrated (or emptied) database. */
export type MakeSqlDb = () => Promise<SqlDb>;

/** The SqlDb contract the shared SQL repositories rely on, run against the MySQL and SQLite implementations. */
export function describeSqlDbContract(harness: TestHarness, name: string, makeDb: MakeSqlDb): void {
  const { describe, it, beforeEach, afterEach } = harness;
  describe(`${name}: SqlDb`, () => {
    let db: SqlDb;
    beforeEach(async () => {
      db = await makeDb();
    });
    afterEach(async () => {
      await db.close();
    });

    // api_tokens serves as a scratch table: a primary key (id) and one unique index (token_hash).
    const insert = (runner: SqlRunner, id: number, hash = `h${id}`) =>
      runner.write(
        "INSERT INTO api_tokens (id, name, token_hash, scopes, created_at) VALUES (?, 'scratch', ?, '[]', 0)",
        [id, hash],
      );
    const ids = async () =>
      (await db.run((runner) => runner.all("SELECT id FROM api_tokens ORDER BY id"))).map((row) =>
        Number(row.id),
      );

    it("commits a transaction's statements together and returns its result", async () => {
      const result = await db.tx(async (runner) => {
        await insert(runner, 1);
        await runner.writeUncached(
          "INSERT INTO api_tokens (id, name, token_hash, scopes, created_at) VALUES (?, 'x', ?, '[]', 0), (?, 'x', ?, '[]', 0)",
          [2, "h2", 3, "h3"],
        );
        return (await runner.get("SELECT COUNT(*) AS n FROM api_tokens"))?.n;
      });
      assert.equal(Number(result), 3);
      assert.deepEqual(await ids(), [1, 2, 3]);
    });

    it("rolls back every statement of a transaction that fails, and rejects with the error", async () => {
      const boom = new ConflictError(CloudErrorCode.CONFLICT, "boom");
      const err = await rejection(
        db.tx(async (runner) => {
          await insert(runner, 1);
          throw boom;
        }),
      );
      assert.equal(err, boom);
      assert.deepEqual(await ids(), []);
    });

    it("tells a duplicate primary key from a duplicate unique index", async () => {
      await db.run((runner) => insert(runner, 1));
      const seen: DuplicateKey[] = [];
      const onDuplicate = (key: DuplicateKey) => {
        seen.push(key);
        return new ConflictError(CloudErrorCode.CONFLICT, key);
      };
      assertInstanceOf(
        await rejection(db.run((runner) => insert(runner, 1, "other"), onDuplicate)),
        ConflictError,
      );
      assertInstanceOf(
        await rejection(db.tx((runner) => insert(runner, 2, "h1"), onDuplicate)),
        ConflictError,
      );
      assert.deepEqual(seen, ["primary", "unique"]);
    });

    it("keeps work that starts while a transaction is open out of it", async () => {
      let opened: () => void = () => undefined;
      const open = new Promise<void>((resolve) => {
        opened = resolve;
      });
      // Observed from the start: it may fail before the other work below has finished.
      const failing = rejection(
        db.tx(async (runner) => {
          await insert(runner, 1);
          opened();
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new Error("rolled back");
        }),
      );
      await open;
      await db.run((runner) => insert(runner, 2));
      assertInstanceOf(await failing, StoreUnavailableError);
      assert.deepEqual(await ids(), [2]);
    });

    it("closes idempotently; afterwards work rejects with store_unavailable", async () => {
      await db.close();
      await db.close();
      assertInstanceOf(
        await rejection(db.run((runner) => runner.get("SELECT 1 AS ok"))),
        StoreUnavailableError,
      );
      assertInstanceOf(await rejection(db.tx(async () => undefined)), StoreUnavailableError);
    });
  });
}
