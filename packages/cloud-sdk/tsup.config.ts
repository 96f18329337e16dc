import { defineConfig } from "tsup";
import { libraryConfig } from "../../tsup.shared";

// One entry per optional driver, so the root import never loads better-sqlite3, mysql2 or nats.
// Splitting puts shared code (CloudError and the rest) in common chunks: one class per
// error type across entries, so `instanceof` holds between /mysql, /testing and the root.
export default defineConfig(
  libraryConfig(
    {
      index: "src/index.ts",
      sqlite: "src/sqlite.ts",
      mysql: "src/mysql.ts",
      nats: "src/nats.ts",
      testing: "src/testing/index.ts",
    },
    { platform: "node", splitting: true },
  ),
);
