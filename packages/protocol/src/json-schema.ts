import { PDU_SCHEMAS, PDU_TYPES, type PduType } from "./pdus.js";

export const SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";
export const SCHEMA_BASE = "https://cloudedge.dev/schemas/protocol/v1/";

/** Strips TypeBox's symbol keys and key order noise: what JSON.stringify would publish. */
function plain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

/** The published JSON Schema (draft 2020-12) of one PDU type. */
export function pduJsonSchema(type: PduType): Record<string, unknown> {
  return { $schema: SCHEMA_DIALECT, $id: `${SCHEMA_BASE}${type}.json`, ...plain(PDU_SCHEMAS[type].schema) };
}

/**
 * Every published schema by file name: one per PDU plus `pdu.json`, the union of all of
 * them. These are committed under docs/schemas/ and checked for drift by a test.
 */
export function protocolJsonSchemas(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const type of PDU_TYPES) out[`${type}.json`] = pduJsonSchema(type);
  out["pdu.json"] = {
    $schema: SCHEMA_DIALECT,
    $id: `${SCHEMA_BASE}pdu.json`,
    title: "cloudedge protocol v1 PDU",
    description: "Any v1 PDU; the `type` field selects the schema.",
    oneOf: PDU_TYPES.map((type) => ({ $ref: `${type}.json` })),
  };
  return out;
}
