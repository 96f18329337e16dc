import type { StatusData } from "@cloudedge/protocol";
import { type Clock, systemClock } from "./clock.js";

/** What a collector contributes to a status report: known keys (§9.5) and any extras. */
export type CollectorOutput = Partial<StatusData> & { [extra: string]: unknown };

/**
 * A source of status data. `collect` should stop when `signal` aborts (the report's
 * timeout); a collector that throws or overruns only marks its own name in `data.errors`.
 */
export interface Collector {
  /** Short name (≤ 64 chars); the key in `data.errors` when it fails. */
  readonly name: string;
  collect(signal: AbortSignal): Promise<CollectorOutput> | CollectorOutput;
}

/** Options of collectStatus. */
export interface CollectOptions {
  /** Per-report time limit for every collector. Default 5 s. */
  timeoutMs?: number;
  clock?: Clock;
}

const MAX_ERROR_LENGTH = 1024;

/**
 * Runs all collectors in parallel and merges their output (later collectors win on key
 * clashes). A failing or slow collector yields a partial report with its error under
 * `errors[name]` — never a missing report.
 */
export async function collectStatus(
  collectors: readonly Collector[],
  options: CollectOptions = {},
): Promise<StatusData> {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const outputs = await Promise.all(collectors.map((collector) => runOne(collector, clock, timeoutMs)));
  const data: StatusData = {};
  const errors: Record<string, string> = {};
  outputs.forEach((output, i) => {
    const name = collectors[i]!.name.slice(0, 64);
    if ("error" in output) errors[name] = output.error.slice(0, MAX_ERROR_LENGTH);
    else Object.assign(data, output.value);
  });
  if (Object.keys(errors).length > 0) data.errors = { ...(data.errors ?? {}), ...errors };
  return data;
}

async function runOne(
  collector: Collector,
  clock: Clock,
  timeoutMs: number,
): Promise<{ value: CollectorOutput } | { error: string }> {
  const controller = new AbortController();
  let timer: unknown;
  const timeout = new Promise<{ error: string }>((resolve) => {
    timer = clock.setTimeout(() => {
      controller.abort(new Error("timed out"));
      resolve({ error: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const run = (async () => {
    try {
      const value = await collector.collect(controller.signal);
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return { error: "collector returned a non-object" };
      }
      return { value };
    } catch (error) {
      return { error: error instanceof Error ? error.message || error.name : String(error) };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clock.clearTimeout(timer);
  }
}
