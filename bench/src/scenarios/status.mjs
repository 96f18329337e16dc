// status: N devices send status snapshots; the hub ingests them and writes history behind,
// in batches (WriteBehind: every second or 500 reports), to MySQL (the real MariaDB) and to
// SQLite. Offered rate ramps until durable rows stop keeping up; lag is from the hub's
// receipt (and from the device's timestamp) to the batch commit that made the row durable.
import { Fleet } from "../load/fleet.mjs";
import { startHub, stopServer } from "../servers.mjs";
import { cpuWindow, mariadbPid, progress, scratchStore, sleep } from "../util.mjs";

const DEFAULT_RATES = [1_000, 2_500, 5_000, 10_000, 20_000, 40_000];

async function measure(server, fleet, rate, durationS, pids) {
  await fleet.rates({ status: rate });
  await sleep(1_500);
  const before = await fleet.stats();
  await server.child.call("statusWindowStart");
  await server.child.call("windowStart");
  const cpu = cpuWindow(pids);
  await sleep(durationS * 1000);
  const machine = cpu();
  const window = await server.child.call("statusWindowStop");
  const probe = await server.child.call("windowStop");
  const after = await fleet.stats();
  const sentPerS = Math.round((after.statusSent - before.statusSent) / window.elapsedS);
  const step = {
    rate,
    sentPerS,
    durablePerS: window.durablePerS,
    pendingAtEnd: window.pending,
    dropped: window.dropped,
    lagMs: window.lagMs,
    lagSinceDeviceMs: window.lagSinceDeviceMs,
    batch: window.batch,
    hubCpuPct: probe.cpuPct,
    hubLagP99Ms: probe.lagP99Ms,
    ...machine,
  };
  // Sustained: the offered rate was sent, rows kept up with it (batches land once a second or
  // every 500 reports, so a 5 s window sees ±1 batch: 85 %) and the backlog stays under ~1 s.
  step.sustained =
    sentPerS >= 0.95 * rate && window.durablePerS >= 0.85 * rate && window.pending <= Math.max(1_000, rate);
  return step;
}

async function runDb(kind, options) {
  const { devices, heartbeatMs, durationS } = options;
  const store = scratchStore(kind);
  const server = await startHub({ devices, heartbeatMs, db: store.url });
  const fleet = await new Fleet({ devices, url: server.url, mode: "hub" }).ready();
  try {
    await fleet.rates({ ping: (devices * 1000) / heartbeatMs });
    const connected = await fleet.connect();
    progress(`status/${kind}: ${connected.connected} connected`);
    const steps = [];
    for (const rate of options.rates ?? DEFAULT_RATES) {
      const pids = {
        hub: server.child.pid,
        ...(kind === "mysql" && mariadbPid() ? { mariadb: mariadbPid() } : {}),
      };
      const step = await measure(server, fleet, rate, durationS, pids);
      steps.push(step);
      progress(
        `status/${kind}: ${rate}/s offered → ${step.durablePerS}/s durable, lag p50 ${step.lagMs.p50} ms ` +
          `p99 ${step.lagMs.p99} ms, batch ${step.batch.meanRows} rows in ${step.batch.p50Ms} ms (p50), backlog ${step.pendingAtEnd}, ` +
          `machine ${step.machineBusyPct} %${step.mariadbCpuPct !== undefined ? `, mariadb ${step.mariadbCpuPct} %` : ""} ${step.sustained ? "ok" : "NOT SUSTAINED"}`,
      );
      if (!step.sustained && !options.rates) break;
    }
    await fleet.rates({ status: 0 });
    const sustained = steps.filter((s) => s.sustained);
    const best = sustained.at(-1);
    return {
      db: kind,
      devices,
      maxDurablePerS: best?.durablePerS ?? 0,
      lagP50Ms: best?.lagMs.p50,
      lagP99Ms: best?.lagMs.p99,
      steps,
    };
  } finally {
    await fleet.close();
    await server.child.call("close").catch(() => {});
    await stopServer(server);
    store.drop();
  }
}

/** @param {{devices: number, heartbeatMs: number, durationS: number, rates?: number[], dbs: string[]}} options */
export async function status(options) {
  progress(`status: ${options.devices} devices, stores ${options.dbs.join(", ")}`);
  const result = { devices: options.devices };
  for (const kind of options.dbs) {
    const figures = await runDb(kind, options);
    result[`${kind}MaxDurablePerS`] = figures.maxDurablePerS;
    result[`${kind}LagP99Ms`] = figures.lagP99Ms;
    result[kind] = figures;
  }
  return result;
}
