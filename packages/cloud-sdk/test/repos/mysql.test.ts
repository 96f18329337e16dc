import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
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
    const url = new URL(db.url);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    const store = await createMysqlStore({ url: url.toString(), connectionLimit: 2 });
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

/** A loopback TCP proxy to the test server that can drop every connection and refuse new ones. */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly target: { host: string; port: number },
    public port: number,
  ) {}

  static async start(server: URL): Promise<TcpProxy> {
    const proxy = new TcpProxy(
      { host: server.hostname || "127.0.0.1", port: Number(server.port || 3306) },
      0,
    );
    await proxy.resume();
    return proxy;
  }

  /** Listens (again) on the same port. */
  async resume(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and cuts every open connection, as a crashed server would. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
