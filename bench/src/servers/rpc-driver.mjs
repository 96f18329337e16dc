// Open-loop RPC load inside the hub process: commands start at fixed intended times
// whatever the hub's pace, and latency counts from the intended start, not the actual one —
// so a stalled hub cannot hide its stall by sending fewer commands (coordinated omission).
import { build } from "hdr-histogram-js";

const histogram = () =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

/** Percentiles of a µs histogram, in ms. */
export function summary(h) {
  const ms = (us) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/**
 * Runs `rate` calls/s for `warmupS + durationS` across `ids` (round robin; default: the
 * devices online on this node — a cluster node passes devices another node holds);
 * only calls started after the warm-up are recorded.
 * @param {import("@cloudedge/cloud-sdk").Cloud} cloud
 * @param {{rate: number, durationS: number, warmupS?: number, timeoutMs?: number, ids?: string[]}} args
 */
export function runRpc(cloud, { ids: given, timeoutMs = 10_000, ...args }) {
  const ids = given ?? [...cloud.hub.onlineDeviceIds()];
  if (ids.length === 0) throw new Error("no device online");
  return openLoop(args, (i) => cloud.broker.call(ids[i % ids.length], "bench.echo", { i }, { timeoutMs }), {
    devices: ids.length,
  });
}

/**
 * The open-loop engine: starts `op(i)` at fixed intended times, `rate` per second, for
 * `warmupS + durationS`; records the calls started after the warm-up.
 * @param {{rate: number, durationS: number, warmupS?: number}} args
 * @param {(i: number) => Promise<unknown>} op
 */
export async function openLoop({ rate, durationS, warmupS = 1 }, op, extra = {}) {
  const corrected = histogram();
  const service = histogram();
  const errors = {};
  const intervalMs = 1000 / rate;
  const warmup = Math.round(rate * warmupS);
  const total = warmup + Math.round(rate * durationS);
  const start = performance.now() + 5;
  let issued = 0;
  let settled = 0;
  let completedRecorded = 0;
  const cpu = process.cpuUsage();
  const { promise: finished, resolve } = deferred();

  const launch = (i, intended) => {
    const sentAt = performance.now();
    op(i).then(
      () => {
        const end = performance.now();
        if (i >= warmup) {
          corrected.recordValue(Math.max(1, Math.round((end - intended) * 1000)));
          service.recordValue(Math.max(1, Math.round((end - sentAt) * 1000)));
          completedRecorded++;
        }
        if (++settled === total) resolve();
      },
      (error) => {
        if (i >= warmup) {
          const code = error?.code ?? "error";
          errors[code] = (errors[code] ?? 0) + 1;
        }
        if (++settled === total) resolve();
      },
    );
  };
  const timer = setInterval(() => {
    const now = performance.now();
    while (issued < total && start + issued * intervalMs <= now) {
      launch(issued, start + issued * intervalMs);
      issued++;
    }
    if (issued >= total) clearInterval(timer);
  }, 1);
  await finished;
  const elapsedMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return {
    rate,
    ...extra,
    durationS,
    sent: total - warmup,
    completed: completedRecorded,
    achievedPerS: Math.round(completedRecorded / durationS),
    errors,
    errorCount: Object.values(errors).reduce((a, b) => a + b, 0),
    latencyMs: summary(corrected),
    serviceTimeMs: summary(service),
    hubCpuPct: Math.round(((used.user + used.system) / 1000 / elapsedMs) * 1000) / 10,
  };
}

function deferred() {
  let resolve = () => {};
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
