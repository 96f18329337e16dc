import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";
import { MAX_ISSUES, type ProtocolIssue } from "./errors.js";

/** A compiled schema check plus its issue list. */
export interface Validator {
  check(value: unknown): boolean;
  issues(value: unknown, max?: number): ProtocolIssue[];
}

/**
 * Compiles a schema to a fast checker. Under a Content-Security-Policy without
 * 'unsafe-eval' (browsers, kiosks) code generation throws; we then fall back to
 * TypeBox's interpreter, which gives the same verdicts, only slower.
 */
export function createValidator(schema: TSchema): Validator {
  let check: (value: unknown) => boolean;
  try {
    const compiled = TypeCompiler.Compile(schema);
    check = (value) => compiled.Check(value);
  } catch {
    check = (value) => Value.Check(schema, value);
  }
  return {
    check,
    issues(value, max = MAX_ISSUES) {
      const out: ProtocolIssue[] = [];
      for (const error of Value.Errors(schema, value)) {
        // Messages are TypeBox's generic ones ("Expected string"): they never echo the value.
        out.push({ path: error.path, message: error.message });
        if (out.length >= max) break;
      }
      return out;
    },
  };
}
