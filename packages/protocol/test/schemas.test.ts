import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, PDU_TYPES, protocolJsonSchemas } from "../src/index.js";
import { anyValidPdu, mutatedPdu } from "./support/arbitrary.js";
import { VALID_PDUS } from "./support/examples.js";

const SCHEMA_DIR = join(import.meta.dirname, "../../../docs/schemas");
const published = Object.fromEntries(
  readdirSync(SCHEMA_DIR)
    .filter((file) => file.endsWith(".json"))
    .map((file) => [file, JSON.parse(readFileSync(join(SCHEMA_DIR, file), "utf8")) as unknown]),
);

describe("published JSON Schemas (docs/schemas)", () => {
  it("match the TypeBox source exactly (run `npm run build && npm run schemas -w @cloudedge/protocol` to refresh)", () => {
    expect(published).toEqual(protocolJsonSchemas());
  });

  it("exist for every PDU type plus the pdu.json union", () => {
    expect(Object.keys(published).sort()).toEqual([...PDU_TYPES.map((t) => `${t}.json`), "pdu.json"].sort());
  });
});

describe("a third-party validator (Ajv, draft 2020-12) agrees with decode", () => {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  for (const schema of Object.values(published)) ajv.addSchema(schema as object);
  const validatePdu = ajv.getSchema("https://cloudedge.dev/schemas/protocol/v1/pdu.json")!;

  it.each(VALID_PDUS)("accepts example: %s", (_name, pdu) => {
    expect(validatePdu(pdu)).toBe(true);
  });

  it("on generated valid PDUs (3,000)", () => {
    fc.assert(
      fc.property(anyValidPdu, (pdu) => {
        expect(validatePdu(pdu)).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });

  it("on mutated PDUs, valid or not (10,000)", () => {
    fc.assert(
      fc.property(mutatedPdu, (value) => {
        const ours = decode(JSON.stringify(value));
        // Inputs that fail on a limit or are not PDU-shaped are outside JSON Schema's remit.
        if (!ours.ok && ours.error.closeCode !== undefined) return;
        expect(validatePdu(JSON.parse(JSON.stringify(value)))).toBe(ours.ok);
      }),
      { numRuns: 10_000 },
    );
  });
});
