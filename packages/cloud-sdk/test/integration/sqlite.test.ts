import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import type { Store } from "../../src/index.js";
import { createSqliteStore } from "../../src/sqlite.js";
import { describeHubIntegration } from "./hub-integration.js";

const dir = mkdtempSync(join(tmpdir(), "cloudedge-hub-sqlite-"));
const stores: Store[] = [];
let n = 0;
afterAll(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describeHubIntegration("SQLite store", async () => {
  const store = await createSqliteStore({ path: join(dir, `hub-${n++}.db`) });
  stores.push(store);
  return store;
});
