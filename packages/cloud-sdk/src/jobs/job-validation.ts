import { parseLabelSelector } from "../devices/label-selector.js";
import { CloudError, CloudErrorCode, ValidationError } from "../errors.js";
import { parseId } from "../repos/ids.js";
import type { AbortOn, AbortRule, ExponentialRollout, JobSpec, Rollout, Wave } from "./job-types.js";

/** What a caller gives to create a job (REST: the body of POST /api/v1/jobs). */
export interface NewJobInput {
  name?: string;
  method: string;
  params?: unknown;
  targets: { deviceIds?: string[]; groupIds?: string[]; selector?: string };
  targetSelection?: "snapshot" | "continuous";
  rollout?: { maxPerMinute?: number; maxInFlight?: number; exponential?: ExponentialRollout };
  waves?: Array<{ percent?: number; count?: number; successThreshold?: number; soakMs?: number }>;
  abort?: Array<{ on: AbortOn; thresholdPercent: number; minExecuted?: number }>;
  executionTimeoutMs?: number;
  ttlMs?: number;
  scheduledAt?: number;
}

/** Bounds of a job's input. */
export const JOB_LIMITS = {
  deviceIds: 10_000,
  groupIds: 100,
  waves: 100,
  abortRules: 10,
  maxInFlight: 10_000,
  maxPerMinute: 1_000_000,
  name: 200,
} as const;

/** Default `rollout.maxInFlight`: also what a job's driver holds in memory at most. */
export const DEFAULT_MAX_IN_FLIGHT = 100;

type Field = { path: string; message: string };

/** A contradictory or out-of-range rollout, wave or abort rule: 400 invalid_rollout, `details.fields` say where. */
export class InvalidRolloutError extends CloudError {
  override readonly name = "InvalidRolloutError";
  constructor(fields: Field[]) {
    super(CloudErrorCode.INVALID_ROLLOUT, `invalid rollout: ${fields[0]?.message ?? ""}`, 400, true, {
      fields,
    });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
const isPercent = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 100;

/**
 * Checks a job's shape and rules and returns its normalized spec (defaults filled in); throws
 * ValidationError (types), CloudError(invalid_selector) or InvalidRolloutError, each naming the
 * field. Targets are checked against the store separately (resolveTargets / assertTargets).
 */
export function validateJobInput(input: NewJobInput, defaultTimeoutMs: number): JobSpec {
  if (!isObject(input))
    throw new ValidationError("invalid job", [{ path: "", message: "must be an object" }]);
  const shape: Field[] = [];
  const name = input.name ?? input.method;
  if (typeof input.method !== "string" || input.method === "")
    shape.push({ path: "method", message: "must be a non-empty string" });
  if (typeof name !== "string" || name.length > JOB_LIMITS.name)
    shape.push({ path: "name", message: `must be a string of at most ${JOB_LIMITS.name} characters` });
  const selection = input.targetSelection ?? "snapshot";
  if (selection !== "snapshot" && selection !== "continuous")
    shape.push({ path: "targetSelection", message: "must be 'snapshot' or 'continuous'" });
  const targets = validateTargets(input.targets, shape);
  for (const key of ["executionTimeoutMs", "ttlMs", "scheduledAt"] as const) {
    const value = input[key];
    if (value !== undefined && !isInt(value, 1, Number.MAX_SAFE_INTEGER))
      shape.push({ path: key, message: "must be a positive integer (ms)" });
  }
  if (shape.length > 0) throw new ValidationError("invalid job", shape);
  if (targets.selector !== null) parseLabelSelector(targets.selector, "targets.selector");
  const rules: Field[] = [];
  const rollout = validateRollout(input.rollout, rules);
  const waves = validateWaves(input.waves, rollout, rules);
  const abort = validateAbort(input.abort, rules);
  if (rules.length > 0) throw new InvalidRolloutError(rules);
  return {
    name,
    method: input.method,
    params: input.params ?? null,
    targets,
    targetSelection: selection,
    rollout,
    waves,
    abort,
    executionTimeoutMs: input.executionTimeoutMs ?? defaultTimeoutMs,
    ttlMs: input.ttlMs ?? null,
    scheduledAt: input.scheduledAt ?? null,
  };
}

/** A job's targets alone, checked as `validateJobInput` checks them (a preview's input). */
export function validateTargetInput(targets: NewJobInput["targets"]): JobSpec["targets"] {
  const fields: Field[] = [];
  const out = validateTargets(targets, fields);
  if (fields.length > 0) throw new ValidationError("invalid targets", fields);
  if (out.selector !== null) parseLabelSelector(out.selector, "targets.selector");
  return out;
}

function validateTargets(targets: NewJobInput["targets"], fields: Field[]): JobSpec["targets"] {
  const out: JobSpec["targets"] = { deviceIds: [], groupIds: [], selector: null };
  if (!isObject(targets)) {
    fields.push({ path: "targets", message: "must be an object of deviceIds, groupIds and/or selector" });
    return out;
  }
  for (const key of ["deviceIds", "groupIds"] as const) {
    const ids = targets[key];
    if (ids === undefined) continue;
    const max = JOB_LIMITS[key];
    if (!Array.isArray(ids) || ids.length > max) {
      fields.push({ path: `targets.${key}`, message: `must be an array of at most ${max} ids` });
      continue;
    }
    ids.forEach((id, i) => {
      if (parseId(id) === undefined) fields.push({ path: `targets.${key}[${i}]`, message: "not an id" });
    });
    out[key] = [...new Set(ids)];
  }
  if (targets.selector !== undefined) {
    if (typeof targets.selector !== "string")
      fields.push({ path: "targets.selector", message: "must be a string" });
    else out.selector = targets.selector;
  }
  return out;
}

function validateRollout(rollout: NewJobInput["rollout"], fields: Field[]): Rollout {
  const out: Rollout = { maxPerMinute: null, maxInFlight: DEFAULT_MAX_IN_FLIGHT, exponential: null };
  if (rollout === undefined) return out;
  if (!isObject(rollout)) {
    fields.push({ path: "rollout", message: "must be an object" });
    return out;
  }
  const { maxPerMinute, maxInFlight, exponential } = rollout;
  if (maxPerMinute !== undefined) {
    if (isInt(maxPerMinute, 1, JOB_LIMITS.maxPerMinute)) out.maxPerMinute = maxPerMinute;
    else
      fields.push({
        path: "rollout.maxPerMinute",
        message: `must be an integer in 1..${JOB_LIMITS.maxPerMinute}`,
      });
  }
  if (maxInFlight !== undefined) {
    if (isInt(maxInFlight, 1, JOB_LIMITS.maxInFlight)) out.maxInFlight = maxInFlight;
    else
      fields.push({
        path: "rollout.maxInFlight",
        message: `must be an integer in 1..${JOB_LIMITS.maxInFlight}`,
      });
  }
  if (exponential !== undefined) {
    const e = exponential as Partial<ExponentialRollout>;
    const bad = (path: string, message: string) =>
      fields.push({ path: `rollout.exponential.${path}`, message });
    if (!isObject(e)) fields.push({ path: "rollout.exponential", message: "must be an object" });
    else {
      if (!isInt(e.baseRatePerMinute, 1, JOB_LIMITS.maxPerMinute))
        bad("baseRatePerMinute", `must be an integer in 1..${JOB_LIMITS.maxPerMinute}`);
      if (typeof e.incrementFactor !== "number" || !(e.incrementFactor > 1 && e.incrementFactor <= 5))
        bad("incrementFactor", "must be a number above 1 and at most 5");
      if (!isInt(e.afterSucceeded, 1, Number.MAX_SAFE_INTEGER))
        bad("afterSucceeded", "must be a positive integer");
      if (
        out.maxPerMinute !== null &&
        isInt(e.baseRatePerMinute, 1, Infinity) &&
        e.baseRatePerMinute > out.maxPerMinute
      )
        bad("baseRatePerMinute", "must not exceed rollout.maxPerMinute");
      out.exponential = e as ExponentialRollout;
    }
  }
  return out;
}

function validateWaves(waves: NewJobInput["waves"], rollout: Rollout, fields: Field[]): Wave[] | null {
  if (waves === undefined) return null;
  if (!Array.isArray(waves) || waves.length === 0 || waves.length > JOB_LIMITS.waves) {
    fields.push({ path: "waves", message: `must be an array of 1..${JOB_LIMITS.waves} waves` });
    return null;
  }
  if (rollout.exponential !== null)
    fields.push({ path: "waves", message: "waves and rollout.exponential contradict each other: give one" });
  let percents = 0;
  const out = waves.map((wave, i): Wave => {
    const path = `waves[${i}]`;
    if (!isObject(wave)) {
      fields.push({ path, message: "must be an object" });
      return { successThreshold: 0, soakMs: 0 };
    }
    const { percent, count, successThreshold = 100, soakMs = 0 } = wave;
    if ((percent === undefined) === (count === undefined))
      fields.push({ path, message: "give exactly one of percent and count" });
    if (percent !== undefined && (!isPercent(percent) || percent === 0))
      fields.push({ path: `${path}.percent`, message: "must be a number in (0, 100]" });
    if (count !== undefined && !isInt(count, 1, Number.MAX_SAFE_INTEGER))
      fields.push({ path: `${path}.count`, message: "must be a positive integer" });
    if (!isPercent(successThreshold))
      fields.push({ path: `${path}.successThreshold`, message: "must be a percent in 0..100" });
    if (!isInt(soakMs, 0, Number.MAX_SAFE_INTEGER))
      fields.push({ path: `${path}.soakMs`, message: "must be a non-negative integer (ms)" });
    percents += typeof percent === "number" ? percent : 0;
    return { ...(percent !== undefined ? { percent } : { count }), successThreshold, soakMs } as Wave;
  });
  if (percents > 100)
    fields.push({ path: "waves", message: `wave percents sum to ${percents}, more than 100` });
  return out;
}

const ABORT_ON: readonly AbortOn[] = ["FAILED", "TIMED_OUT", "REJECTED", "ANY"];

function validateAbort(abort: NewJobInput["abort"], fields: Field[]): AbortRule[] {
  if (abort === undefined) return [];
  if (!Array.isArray(abort) || abort.length > JOB_LIMITS.abortRules) {
    fields.push({ path: "abort", message: `must be an array of at most ${JOB_LIMITS.abortRules} rules` });
    return [];
  }
  return abort.map((rule, i) => {
    const path = `abort[${i}]`;
    if (!isObject(rule)) {
      fields.push({ path, message: "must be an object" });
      return { on: "ANY", thresholdPercent: 100, minExecuted: 1 };
    }
    const { on, thresholdPercent, minExecuted = 1 } = rule;
    if (!ABORT_ON.includes(on))
      fields.push({ path: `${path}.on`, message: `must be one of ${ABORT_ON.join(", ")}` });
    if (!isPercent(thresholdPercent))
      fields.push({ path: `${path}.thresholdPercent`, message: "must be a percent in 0..100" });
    if (!isInt(minExecuted, 1, Number.MAX_SAFE_INTEGER))
      fields.push({ path: `${path}.minExecuted`, message: "must be a positive integer" });
    return { on, thresholdPercent, minExecuted };
  });
}
