import { CloudError, CloudErrorCode } from "../errors.js";

/** One requirement of a label selector (Kubernetes syntax). */
export type LabelRequirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

/** A parsed label selector: every requirement must hold (comma = AND). */
export interface LabelSelector {
  readonly source: string;
  readonly requirements: readonly LabelRequirement[];
  matches(labels: Readonly<Record<string, string>>): boolean;
}

const KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,252}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
const MAX_SELECTOR_LENGTH = 4096;

/**
 * Parses a label selector in Kubernetes syntax — `site=berlin,tier!=canary,env in (prod,stage),
 * region notin (eu),gpu,!legacy` (`==` is `=`). Throws CloudError(invalid_selector, 400) with
 * `details.fields[0].path` = `field` when it does not parse. An empty selector matches every device.
 */
export function parseLabelSelector(source: string, field = "selector"): LabelSelector {
  const fail = (message: string): never => {
    throw new CloudError(CloudErrorCode.INVALID_SELECTOR, `selector: ${message}`, 400, true, {
      fields: [{ path: field, message }],
    });
  };
  if (source.length > MAX_SELECTOR_LENGTH) fail(`longer than ${MAX_SELECTOR_LENGTH} characters`);
  const requirements = splitTopLevel(source, fail)
    .map((part) => part.trim())
    .map((part, _index, all) => {
      if (part === "") return all.length === 1 ? undefined : fail("empty requirement");
      return parseRequirement(part, fail);
    })
    .filter((r): r is LabelRequirement => r !== undefined);
  return {
    source,
    requirements,
    matches: (labels) => requirements.every((r) => holds(r, labels)),
  };
}

/** Splits on commas outside parentheses. */
function splitTopLevel(source: string, fail: (m: string) => never): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "(") depth += 1;
    else if (c === ")") depth -= 1;
    if (depth < 0 || depth > 1) fail("unbalanced parentheses");
    if (c === "," && depth === 0) {
      parts.push(source.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) fail("unbalanced parentheses");
  parts.push(source.slice(start));
  return parts;
}

function parseRequirement(part: string, fail: (m: string) => never): LabelRequirement {
  const key = (k: string) => (KEY.test(k) ? k : fail(`'${k.slice(0, 64)}' is not a label key`));
  const value = (v: string) => (VALUE.test(v) ? v : fail(`'${v.slice(0, 64)}' is not a label value`));
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (set) {
    const values = (set[3] as string).split(",").map((v) => value(v.trim()));
    return { key: key(set[1] as string), op: set[2] as "in" | "notin", values };
  }
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
  if (cmp) {
    const op = cmp[2] === "!=" ? "!=" : "=";
    return { key: key(cmp[1] as string), op, value: value((cmp[3] as string).trim()) };
  }
  if (part.startsWith("!")) return { key: key(part.slice(1).trim()), op: "!exists" };
  return { key: key(part), op: "exists" };
}

function holds(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case "=":
      return v === r.value;
    case "!=":
      return v !== r.value;
    case "in":
      return v !== undefined && r.values.includes(v);
    case "notin":
      return v === undefined || !r.values.includes(v);
    case "exists":
      return has;
    case "!exists":
      return !has;
  }
}
