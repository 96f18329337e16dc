// Writes docs/schemas/*.json from the built package (run after `npm run build`).
// The test "published JSON Schemas match the source" fails until this has been run.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { protocolJsonSchemas } from "../dist/index.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "../../../docs/schemas");
mkdirSync(dir, { recursive: true });
const schemas = protocolJsonSchemas();
for (const file of readdirSync(dir)) {
  if (file.endsWith(".json") && !(file in schemas)) rmSync(join(dir, file));
}
for (const [file, schema] of Object.entries(schemas)) {
  writeFileSync(join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`wrote ${Object.keys(schemas).length} schemas to ${dir}`);
