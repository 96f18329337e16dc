import { openStore, SchemaTooNewError, StoreUnavailableError } from "@cloudedge/cloud-sdk";
import {
  createMysqlStore,
  MYSQL_MIGRATIONS,
  MysqlDb,
  mysqlPoolOptionsFromUrl,
} from "@cloudedge/cloud-sdk/mysql";
import {
  BIG_ID,
  describeSqlDbContract,
  describeStoreContract,
  newDevice,
  rejection,
} from "@cloudedge/cloud-sdk/testing";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vitestHarness } from "../support/vitest-harness.js";
import { MYSQL_SERVER_URL, MysqlTestDatabase } from "./mysql-test-server.js";
import { TcpProxy } from "./tcp-proxy.js";

// The suites and the store both from the built package: one set of error classes.
// One database for the whole file, migrated once by the first store; each test gets an empty one.
let db: MysqlTestDatabase;
beforeAll(async () => {
  db = await MysqlTestDatabase.create();
  await (await createMysqlStore({ url: db.url })).close();
});
afterAll(async () => {
  await db?.drop();
});

describeStoreContract(vitestHarness, "mysql", async () => {
  await db.empty();
  return createMysqlStore({ url: db.url, connectionLimit: 4 });
});

describeSqlDbContract(vitestHarness, "mysql", async () => {
  await db.empty();
  return new MysqlDb(mysql.createPool({ ...mysqlPoolOptionsFromUrl(db.url), connectionLimit: 2 }));
});

describe("mysql: migrations", () => {
  type MigrationRow = { version: number; name: string; applied_at: string };
  const recorded = async (target: MysqlTestDatabase) =>
    (await target.query(
      "SELECT version, name, applied_at FROM cloudedge_migrations ORDER BY version",
    )) as MigrationRow[];

  it("applies every migration once under concurrent start-up, and is idempotent on re-open", async () => {
    const fresh = await MysqlTestDatabase.create();
    try {
      // Three servers starting together: GET_LOCK makes one migrate while the others wait.
      const stores = await Promise.all(
        [1, 2, 3].map(() => createMysqlStore({ url: fresh.url, connectionLimit: 2 })),
      );
      const first = await recorded(fresh);
      expect(first.map((m) => m.version)).toEqual(MYSQL_MIGRATIONS.map((m) => m.version));
      expect(first[0]).toMatchObject({ version: 1, name: "initial schema" });
      await stores[0]?.devices.create(newDevice({ id: BIG_ID }));
      await Promise.all(stores.map((s) => s.close()));

      const again = await createMysqlStore({ url: fresh.url });
      expect((await again.devices.get(BIG_ID))?.id).toBe(BIG_ID);
      await again.close();
      expect(await recorded(fresh)).toEqual(first);
    } finally {
      await fresh.drop();
    }
  });

  it("stores ids as BIGINT UNSIGNED, exactly", async () => {
    await db.empty();
    const store = await createMysqlStore({ url: db.url });
    await store.devices.create(newDevice({ id: BIG_ID }));
    await store.close();
    const rows = (await db.query("SELECT CAST(id AS CHAR) AS text FROM devices")) as Array<{ text: string }>;
    expect(rows).toEqual([{ text: BIG_ID }]);
  });

  it("creates the database when it is missing", async () => {
    const name = `cloudedge_test_${process.pid}_created`;
    const url = `${MYSQL_SERVER_URL.replace(/\/+$/, "")}/${name}`;
    const store = await openStore(url);
    try {
      await store.ping();
      expect(store.dialect).toBe("mysql");
    } finally {
      await store.close();
      await db.query(`DROP DATABASE IF EXISTS \`${name}\``);
    }
  });

  it("a migration cut off after its ALTER (column there, version not recorded) runs again", async () => {
    const fresh = await MysqlTestDatabase.create();
    try {
      await (await createMysqlStore({ url: fresh.url })).close();
      await fresh.query("DELETE FROM cloudedge_migrations WHERE version = 2");
      await (await createMysqlStore({ url: fresh.url })).close();
      expect((await recorded(fresh)).map((m) => m.version)).toEqual(MYSQL_MIGRATIONS.map((m) => m.version));
      const columns = (await fresh.query("SHOW COLUMNS FROM commands LIKE 'acknowledged_at'")) as unknown[];
      expect(columns).toHaveLength(1);
    } finally {
      await fresh.drop();
    }
  });

  it("refuses a database migrated by a newer cloudedge", async () => {
    const fresh = await MysqlTestDatabase.create();
    try {
      await (await createMysqlStore({ url: fresh.url })).close();
      await fresh.query(
        "INSERT INTO cloudedge_migrations (version, name, applied_at) VALUES (999, 'future', 1)",
      );
      expect(await rejection(createMysqlStore({ url: fresh.url }))).toBeInstanceOf(SchemaTooNewError);
    } finally {
      await fresh.drop();
    }
  });
});

describe("mysql: an unreachable server", () => {
  it("rejects open with store_unavailable (503) and no driver text", async () => {
    // Port 1 on loopback: nothing listens, the connect is refused at once.
    const err = await rejection(createMysqlStore({ url: "mysql://root:secret@127.0.0.1:1/cloudedge" }));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({
      code: "store_unavailable",
      status: 503,
      message: "the database is unavailable",
    });
    expect(JSON.stringify(err)).not.toContain("secret");
    expect((err as { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
  });

  it("rejects ping and queries while the server is gone, and recovers when it is back", async () => {
    await db.empty();
    // A TCP proxy stands in for the server, so the test can pull the plug on live connections.
    const proxy = await TcpProxy.start(new URL(MYSQL_SERVER_URL));
    const store = await createMysqlStore({ url: viaProxy(proxy), connectionLimit: 2 });
    try {
      await store.devices.create(newDevice({ id: BIG_ID }));
      await proxy.stop();
      const calls = [
        () => store.ping(),
        () => store.devices.get(BIG_ID),
        () => store.devices.markAllOffline(1),
      ];
      for (const call of calls) {
        const err = await rejection(call());
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(err).toMatchObject({ code: "store_unavailable", message: "the database is unavailable" });
      }
      await proxy.resume();
      await expect(store.ping()).resolves.toBeUndefined();
      expect((await store.devices.get(BIG_ID))?.id).toBe(BIG_ID);
    } finally {
      await store.close();
      await proxy.stop();
    }
  });
});

/** The test database's URL through a proxy. */
function viaProxy(proxy: TcpProxy): string {
  const url = new URL(db.url);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  return url.toString();
}

/** The driver error behind a StoreUnavailableError. */
const causeCode = (err: unknown) => (err as { cause?: { code?: string } }).cause?.code;

describe("mysql: a server that stops answering (TCP open, nothing said)", () => {
  it("fails every call with store_unavailable within the bound, and recovers when it answers again", async () => {
    await db.empty();
    const proxy = await TcpProxy.start(new URL(MYSQL_SERVER_URL));
    const store = await createMysqlStore({ url: viaProxy(proxy), connectionLimit: 2, timeoutMs: 300 });
    try {
      await store.devices.create(newDevice({ id: BIG_ID }));
      proxy.hang();
      // More calls than connections: some wait for a connection, some for an answer, some
      // for a new connection's handshake — each ends by the bound.
      const calls = [
        store.ping(),
        store.devices.get(BIG_ID),
        store.devices.markAllOffline(1),
        store.status.insertBatch([{ deviceId: BIG_ID, ts: 1, receivedAt: 1, data: { cpu: 1 } }]),
        store.devices.list(),
        store.ping(),
      ];
      for (const err of await Promise.all(calls.map(rejection))) {
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(err).toMatchObject({ code: "store_unavailable", status: 503 });
        expect(causeCode(err)).toBe("CE_DB_TIMEOUT");
      }
      proxy.unhang();
      await expect(store.ping()).resolves.toBeUndefined();
      expect((await store.devices.get(BIG_ID))?.id).toBe(BIG_ID);
      await store.status.insertBatch([{ deviceId: BIG_ID, ts: 2, receivedAt: 2, data: { cpu: 2 } }]);
      expect((await store.status.history(BIG_ID, {})).map((r) => r.ts)).toEqual([2]);
    } finally {
      proxy.unhang();
      await store.close();
      await proxy.stop();
    }
  });

  it("drops a connection whose statement outlived the bound: the pool's next call gets its own answer", async () => {
    const pool = mysql.createPool({ ...mysqlPoolOptionsFromUrl(db.url), connectionLimit: 1 });
    const sqlDb = new MysqlDb(pool, 500);
    try {
      const slow = await rejection(sqlDb.run((r) => r.all("SELECT SLEEP(5) AS slept")));
      expect(slow).toBeInstanceOf(StoreUnavailableError);
      expect(causeCode(slow)).toBe("CE_DB_TIMEOUT");
      // Had the one connection gone back to the pool, this would wait behind SLEEP(5) past its own bound.
      expect(await sqlDb.run((r) => r.all("SELECT 42 AS answer"))).toEqual([{ answer: 42 }]);
      // The same inside a transaction: the connection (and its transaction) is dropped.
      const slowTx = await rejection(sqlDb.tx((r) => r.all("SELECT SLEEP(5) AS slept")));
      expect(causeCode(slowTx)).toBe("CE_DB_TIMEOUT");
      expect(await sqlDb.tx((r) => r.all("SELECT 43 AS answer"))).toEqual([{ answer: 43 }]);
    } finally {
      await sqlDb.close();
    }
  });

  it("closes within the bound even when the server does not answer", async () => {
    const proxy = await TcpProxy.start(new URL(MYSQL_SERVER_URL));
    const store = await createMysqlStore({ url: viaProxy(proxy), connectionLimit: 2, timeoutMs: 300 });
    try {
      await store.ping();
      proxy.hang();
      await expect(store.close()).resolves.toBeUndefined();
      expect(await rejection(store.ping())).toBeInstanceOf(StoreUnavailableError);
    } finally {
      proxy.unhang();
      await proxy.stop();
    }
  });
});
