// Writes docs/openapi.json from the built server (run after `npm run build`). The test
// "the committed OpenAPI document matches the routes" fails until this has been run.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openApiDocument } from "../dist/app.js";
import { documentDeps } from "./openapi-deps.mjs";

const file = join(dirname(fileURLToPath(import.meta.url)), "../../../docs/openapi.json");
writeFileSync(file, `${JSON.stringify(openApiDocument(documentDeps()), null, 2)}\n`);
console.log(`wrote ${file}`);
