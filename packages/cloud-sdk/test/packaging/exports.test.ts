import { createRequire } from "node:module";
import * as root from "@cloudedge/cloud-sdk";
import * as mysql from "@cloudedge/cloud-sdk/mysql";
import * as nats from "@cloudedge/cloud-sdk/nats";
import * as sqlite from "@cloudedge/cloud-sdk/sqlite";
import * as testing from "@cloudedge/cloud-sdk/testing";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
type Entries = { root: typeof root; mysql: typeof mysql; sqlite: typeof sqlite };
const builds: Array<[string, Entries]> = [
  ["ESM", { root, mysql, sqlite }],
  [
    "CJS",
    {
      root: require("@cloudedge/cloud-sdk"),
      mysql: require("@cloudedge/cloud-sdk/mysql"),
      sqlite: require("@cloudedge/cloud-sdk/sqlite"),
    },
  ],
];

// The built entries, as @koa/router's exports test does: what each subpath holds, and that
// the error classes are shared between entries (tsup splitting) so instanceof holds.
describe("the built entry points", () => {
  it("keep the drivers out of the root and put each behind its subpath", () => {
    for (const name of ["createSqliteStore", "createMysqlStore", "NatsClusterBus"]) {
      expect(Object.keys(root)).not.toContain(name);
    }
    expect(typeof sqlite.createSqliteStore).toBe("function");
    expect(typeof mysql.createMysqlStore).toBe("function");
    expect(typeof nats.NatsClusterBus.connect).toBe("function");
    expect(typeof testing.describeStoreContract).toBe("function");
    expect(typeof testing.createTeardown).toBe("function");
  });

  for (const [format, entry] of builds) {
    it(`${format}: a driver entry's errors are the root's classes`, async () => {
      // Port 1 on loopback: nothing listens, the connect is refused at once.
      const refused = await entry.mysql
        .createMysqlStore({ url: "mysql://root@127.0.0.1:1/x" })
        .catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(entry.root.StoreUnavailableError);
      expect(refused).toBeInstanceOf(entry.root.CloudError);
      const store = await entry.sqlite.createSqliteStore({ path: ":memory:" });
      await store.close();
      expect(await store.ping().catch((err: unknown) => err)).toBeInstanceOf(
        entry.root.StoreUnavailableError,
      );
    });
  }
});
