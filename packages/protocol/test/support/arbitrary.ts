import fc from "fast-check";
import { PDU_SCHEMAS, type Pdu, type PduType, REFINEMENTS } from "../../src/index.js";

type Schema = Record<string, unknown> & {
  type?: string;
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  patternProperties?: Record<string, Schema>;
};

/** JSON-safe numbers: no -0 (JSON turns it into 0). */
const noNegZero = (n: number) => (Object.is(n, -0) ? 0 : n);

const anyJson = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/**
 * A fast-check arbitrary for values that match a (JSON) schema, read from the same
 * TypeBox schemas the codec validates with — so every PDU, present and future, is
 * generated without a hand-written copy of its shape.
 */
export function arbitraryFor(schema: Schema): fc.Arbitrary<unknown> {
  if ("const" in schema) return fc.constant(schema.const);
  switch (schema.type) {
    case "string": {
      if (typeof schema.pattern === "string") return fc.stringMatching(new RegExp(schema.pattern));
      const minLength = (schema.minLength as number | undefined) ?? 0;
      const maxLength = Math.min((schema.maxLength as number | undefined) ?? 40, minLength + 40);
      // "binary" covers all of Unicode; schema lengths count UTF-16 units, so filter on .length.
      return fc
        .string({ minLength, maxLength, unit: "binary" })
        .filter((s) => s.length >= minLength && s.length <= maxLength);
    }
    case "integer":
      return fc.integer({
        min: Math.max((schema.minimum as number | undefined) ?? -1e9, Number.MIN_SAFE_INTEGER),
        max: Math.min((schema.maximum as number | undefined) ?? 1e9, 2 ** 31 * 1000),
      });
    case "number":
      return fc
        .double({
          min: (schema.minimum as number | undefined) ?? -1e12,
          max: (schema.maximum as number | undefined) ?? 1e12,
          noNaN: true,
          noDefaultInfinity: true,
        })
        .map(noNegZero);
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(arbitraryFor(schema.items as Schema), {
        minLength: (schema.minItems as number | undefined) ?? 0,
        maxLength: Math.min((schema.maxItems as number | undefined) ?? 5, 5),
      });
    case "object": {
      if (schema.patternProperties) {
        const [, valueSchema] = Object.entries(schema.patternProperties)[0] as [string, Schema];
        return fc.dictionary(fc.string({ maxLength: 12 }), arbitraryFor(valueSchema), { maxKeys: 4 });
      }
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, value] of Object.entries(properties)) shape[key] = arbitraryFor(value);
      const known = fc.record(shape, { requiredKeys: [...required] });
      if (Object.keys(properties).length === 0) {
        return fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 4 });
      }
      // Unknown extra fields are part of v1 (forward compatibility): generate some.
      const extras = fc.dictionary(
        fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !(k in properties) && k !== "__proto__"),
        anyJson,
        { maxKeys: 2 },
      );
      return fc
        .tuple(known, fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extras }))
        .map(([k, e]) => ({ ...e, ...k }));
    }
    default:
      return anyJson; // Unknown / JsonValue
  }
}

const plain = (schema: unknown) => JSON.parse(JSON.stringify(schema)) as Schema;

/** Valid PDUs of one type (cross-field rules applied as a filter). */
export function arbitraryPdu(type: PduType): fc.Arbitrary<Pdu> {
  const refine = REFINEMENTS[type] as ((pdu: Pdu) => string | undefined) | undefined;
  return arbitraryFor(plain(PDU_SCHEMAS[type].schema))
    .map((v) => v as Pdu)
    .filter((pdu) => refine?.(pdu) === undefined);
}

/** Valid PDUs of every type. */
export const anyValidPdu: fc.Arbitrary<Pdu> = fc.oneof(
  ...(Object.keys(PDU_SCHEMAS) as PduType[]).map((type) => arbitraryPdu(type)),
);

/** A valid PDU with one field deleted or replaced by arbitrary JSON: usually invalid, sometimes not. */
export const mutatedPdu: fc.Arbitrary<unknown> = fc
  .tuple(anyValidPdu, fc.nat(), anyJson, fc.boolean())
  .map(([pdu, index, replacement, remove]) => {
    const copy = { ...(pdu as unknown as Record<string, unknown>) };
    const keys = Object.keys(copy);
    const key = keys[index % keys.length] as string;
    if (remove) delete copy[key];
    else copy[key] = replacement;
    return copy;
  });

export { anyJson };
