import type { JsonValue } from "@cloudedge/protocol";
import { ExecutorError } from "../../errors.js";

/** One declared parameter of an allowlisted command. */
export interface ExecParam {
  /**
   * Allowed values, always matched against the whole value (the pattern is anchored when
   * compiled, so `[a-z]+` means `^(?:[a-z]+)$`). Default `[A-Za-z0-9_.:/@+=,-]{1,256}`.
   */
  pattern?: RegExp | string;
  /**
   * Whether the value may start with "-" — that is, may become an option of the program.
   * Default false, whatever the pattern says.
   */
  allowLeadingDash?: boolean;
  required?: boolean;
  default?: string;
}

/** A parameter ready to check: its pattern compiled to match whole values. */
export interface CompiledParam {
  pattern: RegExp;
  allowLeadingDash: boolean;
  required: boolean;
  default: string | undefined;
}

const DEFAULT_PATTERN = "[A-Za-z0-9_.:/@+=,-]{1,256}";
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `pattern` as a regular expression that matches only a whole value. `m` is dropped (with it
 * `^`/`$` would match at line breaks inside the value), and so are `g`/`y` (stateful).
 * Throws TypeError for a pattern that does not compile.
 */
export function wholeValue(pattern: RegExp | string): RegExp {
  const source = typeof pattern === "string" ? pattern : pattern.source;
  const flags = typeof pattern === "string" ? "" : pattern.flags.replace(/[gmy]/g, "");
  try {
    return new RegExp(`^(?:${source})$`, flags);
  } catch (error) {
    throw new TypeError(
      `invalid exec parameter pattern ${JSON.stringify(source)}: ${(error as Error).message}`,
    );
  }
}

/** Compiles the declared parameters once, when the executor is made. */
export function compileParams(params: Record<string, ExecParam> | undefined): Map<string, CompiledParam> {
  const compiled = new Map<string, CompiledParam>();
  for (const [name, spec] of Object.entries(params ?? {})) {
    compiled.set(name, {
      pattern: wholeValue(spec.pattern ?? DEFAULT_PATTERN),
      allowLeadingDash: spec.allowLeadingDash === true,
      required: spec.required !== false,
      default: spec.default,
    });
  }
  return compiled;
}

/** Reads `{name, args?}`; args are strings (numbers are taken as their decimal text). */
export function readExecParams(params: JsonValue | undefined): {
  name: string;
  args: Record<string, string>;
} {
  const p = params as { name?: unknown; args?: unknown } | null | undefined;
  if (!p || typeof p !== "object" || typeof p.name !== "string" || p.name.length === 0) {
    throw new ExecutorError("invalid_params", "exec needs {name, args?}");
  }
  const args: Record<string, string> = {};
  if (p.args !== undefined) {
    if (typeof p.args !== "object" || p.args === null || Array.isArray(p.args)) {
      throw new ExecutorError("invalid_params", "args must be an object of strings");
    }
    for (const [key, value] of Object.entries(p.args)) {
      if (typeof value !== "string" && typeof value !== "number") {
        throw new ExecutorError("invalid_params", `argument '${key.slice(0, 64)}' must be a string`);
      }
      args[key] = String(value);
    }
  }
  return { name: p.name, args };
}

/** The argv of `template` with `args` checked against `declared` and put in its placeholders. */
export function expandArgv(
  template: readonly string[],
  declared: Map<string, CompiledParam>,
  args: Record<string, string>,
): string[] {
  for (const key of Object.keys(args)) {
    if (!declared.has(key))
      throw new ExecutorError("invalid_params", `undeclared argument '${key.slice(0, 64)}'`);
  }
  const values: Record<string, string> = {};
  for (const [key, spec] of declared) {
    const value = Object.hasOwn(args, key) ? args[key] : spec.default;
    if (value === undefined) {
      if (spec.required) throw new ExecutorError("invalid_params", `missing argument '${key}'`);
      continue;
    }
    if (!spec.pattern.test(value)) refuse(key, "pattern");
    // An argument never becomes an option of the program unless its declaration says so.
    if (value.startsWith("-") && !spec.allowLeadingDash) refuse(key, "leading_dash");
    values[key] = value;
  }
  const argv: string[] = [];
  for (const part of template) {
    let missing = false;
    const expanded = part.replace(PLACEHOLDER, (_m, key: string) => {
      if (!Object.hasOwn(values, key)) missing = true;
      return values[key] ?? "";
    });
    // A template element made only of an absent optional parameter disappears.
    if (missing && expanded === "") continue;
    argv.push(expanded);
  }
  if (argv.length === 0) throw new ExecutorError("invalid_params", "empty command");
  return argv;
}

function refuse(argument: string, reason: "pattern" | "leading_dash"): never {
  const why = reason === "pattern" ? "does not match its pattern" : "may not start with '-'";
  throw new ExecutorError("invalid_params", `argument '${argument}' is not allowed: it ${why}`, {
    argument,
    reason,
  });
}
