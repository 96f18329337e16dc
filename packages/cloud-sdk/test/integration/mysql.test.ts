import { afterAll, beforeAll } from "vitest";
import type { Store } from "../../src/index.js";
import { createMysqlStore } from "../../src/mysql.js";
import { MysqlTestDatabase } from "../repos/mysql-test-server.js";
import { describeHubIntegration } from "./hub-integration.js";

let database: MysqlTestDatabase;
const stores: Store[] = [];
beforeAll(async () => {
  database = await MysqlTestDatabase.create();
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await database?.drop();
});

describeHubIntegration("MySQL store (real MariaDB)", async () => {
  const store = await createMysqlStore({ url: database.url });
  stores.push(store);
  return store;
});
