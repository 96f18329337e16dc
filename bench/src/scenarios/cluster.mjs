// cluster: the latency a cross-node command adds over a same-node one (issue #7). Two hub
// nodes (A and B) share one scratch store (a SQLite file, then a MySQL database) and a
// NatsClusterBus; the fleet connects to node B only. The open-loop RPC driver
// (servers/rpc-driver.mjs) runs inside node B on its own devices (same-node), then inside
// node A on the same devices (cross-node: the delivery request goes over NATS to B, the
// result comes back as a bus event), then the bare-NATS floor of that extra path
// (servers/nats-baseline.mjs: request, reply and one event between the same two processes,
// no cloudedge code); the steps interleaved so all face the same machine noise.
import { deviceId } from "../fleet-ids.mjs";
import { Fleet } from "../load/fleet.mjs";
import { startHub, stopServer } from "../servers.mjs";
import {
  cpuWindow,
  dropNatsPrefix,
  mariadbPid,
  median,
  NATS,
  progress,
  round,
  scratchNatsPrefix,
  scratchStore,
} from "../util.mjs";

/** Same/cross pairs per rate by default; each figure is the median over them. */
const ROUNDS = 5;
/**
 * Default rates: the #7 target's 1,000/s and 300/s, which this 2-core machine's MySQL
 * command path sustains (at 1,000/s it saturates in both modes: then the difference is queueing).
 */
const DEFAULT_RATES = [300, 1_000];
const TARGET_RATE = 1_000;
/** A mode whose median p50 exceeds this at a rate did not keep up with it. */
const SATURATED_P50_MS = 1_000;
/** Issue #7: a cross-node command adds at most this much at p99. */
const TARGET_ADDED_P99_MS = 2;

/**
 * One measured step: `op` ("rpc", or "natsProbe" for the bare-NATS floor) runs in `driver`;
 * both nodes' CPU and loop lag, `pids`' CPU.
 */
async function step(mode, driver, op, nodes, args, pids) {
  await Promise.all(nodes.map((n) => n.child.call("windowStart")));
  const cpu = cpuWindow(pids);
  const result = await driver.child.call(op, args);
  const [a, b] = await Promise.all(nodes.map((n) => n.child.call("windowStop")));
  return {
    mode,
    ...result,
    nodeACpuPct: a.cpuPct,
    nodeBCpuPct: b.cpuPct,
    nodeALagP99Ms: a.lagP99Ms,
    nodeBLagP99Ms: b.lagP99Ms,
    ...cpu(),
  };
}

/** Medians over the rounds of one mode (counts and errors summed). */
function summarise(steps) {
  const mid = (pick) => round(median(steps.map(pick)), 3);
  return {
    p50: mid((s) => s.latencyMs.p50),
    p90: mid((s) => s.latencyMs.p90),
    p99: mid((s) => s.latencyMs.p99),
    p999: mid((s) => s.latencyMs.p999),
    count: steps.reduce((n, s) => n + s.latencyMs.count, 0),
    errors: steps.reduce((n, s) => n + s.errorCount, 0),
    nodeACpuPct: mid((s) => s.nodeACpuPct),
    nodeBCpuPct: mid((s) => s.nodeBCpuPct),
  };
}

/**
 * The store whose figures decide the target: one SQLite file (WAL) shared by both nodes, the
 * one-machine cluster of docs/operations.md. The target is about what routing adds, and both
 * modes share the store; on this 2-core machine MariaDB competes for the cores with both
 * nodes, NATS and the generator (the machine is ~80 % busy at 1,000/s), so there both modes'
 * p99 is mostly waiting for a core. The MySQL figures are reported beside it.
 */
const JUDGED_ON = "sqlite";

/**
 * Runs the comparison on each store of `dbs` (default both: SQLite, then MySQL), each with
 * its own two nodes and fleet.
 * @param {{devices: number, heartbeatMs: number, durationS: number, rates?: number[], dbs?: string[], rounds?: number}} options
 */
export async function cluster(options) {
  const dbs = [...(options.dbs ?? ["sqlite", "mysql"])].sort((a, b) =>
    a === JUDGED_ON ? -1 : b === JUDGED_ON ? 1 : 0,
  );
  const stores = [];
  for (const db of dbs) stores.push(await onStore(db, options));
  const judged = stores.find((f) => f.db === JUDGED_ON) ?? stores[0];
  return {
    devices: options.devices,
    rounds: options.rounds ?? ROUNDS,
    judgedOn: judged.db,
    ...judged,
    stores: stores.map(({ steps: _steps, ...figures }) => figures),
    steps: stores.flatMap((f) => f.steps.map((step) => ({ db: f.db, ...step }))),
  };
}

/** Same vs cross on one store: two nodes over it, the fleet on node B. */
async function onStore(db, options) {
  const { devices, heartbeatMs, durationS } = options;
  const rates = options.rates ?? DEFAULT_RATES;
  const rounds = options.rounds ?? ROUNDS;
  progress(
    `cluster: ${devices} devices on node B, ${rates.join(", ")}/s, ${rounds} × (same, cross, nats floor) of ${durationS} s each, ${db} store`,
  );
  const store = scratchStore(db);
  const prefix = scratchNatsPrefix("cluster");
  const node = (nodeId, extra = {}) =>
    startHub({
      devices,
      heartbeatMs,
      db: store.url,
      cluster: { servers: NATS, prefix, nodeId },
      ...extra,
    });
  const nodes = [];
  let fleet;
  try {
    // B creates the database and registers the fleet; A starts on the ready store.
    nodes.push(await node("bench-b"));
    nodes.unshift(await node("bench-a", { register: false }));
    const [a, b] = nodes;
    fleet = await new Fleet({ devices, url: b.url, mode: "hub" }).ready();
    await fleet.rates({ ping: (devices * 1000) / heartbeatMs });
    const connected = await fleet.connect();
    progress(`cluster: ${connected.connected} connected to node B`);
    const ids = Array.from({ length: devices }, (_, i) => deviceId(i));
    // The floor: the NATS hops a cross-node command adds (request, reply, event), without
    // cloudedge — node B echoes, node A probes (servers/nats-baseline.mjs).
    const subject = `${prefix}.bench.floor`;
    await b.child.call("natsEcho", { subject });
    const modes = [
      ["same", b, "rpc"],
      ["cross", a, "rpc"],
      ["nats", a, "natsProbe"],
    ];
    // Unrecorded: every path once, so the first round does not pay for JIT and cold tables.
    for (const [, driver, op] of modes)
      await driver.child.call(op, {
        rate: rates[0],
        durationS: 1,
        warmupS: 1,
        timeoutMs: 10_000,
        ids,
        subject,
      });
    progress("cluster: warmed up");
    const mariadb = db === "mysql" ? mariadbPid() : undefined;
    const pids = mariadb ? { mariadb } : {};
    const steps = [];
    const byRate = [];
    for (const rate of rates) {
      const args = { rate, durationS, warmupS: 1, timeoutMs: 10_000, ids, subject };
      const ofRate = [];
      for (let r = 1; r <= rounds; r++) {
        for (const [mode, driver, op] of modes) {
          const s = { rate, round: r, ...(await step(mode, driver, op, nodes, args, pids)) };
          ofRate.push(s);
          progress(
            `cluster: ${mode} #${r} at ${rate}/s → p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms, ` +
              `p99.9 ${s.latencyMs.p999} ms, errors ${s.errorCount}, cpu A ${s.nodeACpuPct} % B ${s.nodeBCpuPct} %, ` +
              `${mariadb ? `mariadb ${s.mariadbCpuPct} %, ` : ""}machine ${s.machineBusyPct} %`,
          );
        }
      }
      steps.push(...ofRate);
      const same = summarise(ofRate.filter((s) => s.mode === "same"));
      const cross = summarise(ofRate.filter((s) => s.mode === "cross"));
      const nats = summarise(ofRate.filter((s) => s.mode === "nats"));
      byRate.push({
        rate,
        same,
        cross,
        nats,
        addedP50Ms: round(cross.p50 - same.p50, 3),
        addedP99Ms: round(cross.p99 - same.p99, 3),
        saturated: same.p50 > SATURATED_P50_MS || cross.p50 > SATURATED_P50_MS,
      });
    }
    // The headline is the target rate's (the last one run when it was not among them).
    const head = byRate.find((r) => r.rate === TARGET_RATE) ?? byRate.at(-1);
    return {
      connected: connected.connected,
      db,
      ...head,
      // Failed calls are not in the percentiles (a timed-out command is the slowest of all):
      // a run with any, or a saturated one, cannot meet a latency target.
      targetMet:
        head.same.errors + head.cross.errors === 0 &&
        !head.saturated &&
        head.addedP99Ms <= TARGET_ADDED_P99_MS,
      byRate,
      steps,
    };
  } finally {
    await fleet?.close();
    await Promise.all(
      nodes.map(async (n) => {
        await n.child.call("close").catch(() => {});
        await stopServer(n);
      }),
    );
    store.drop();
    await dropNatsPrefix(prefix);
  }
}
