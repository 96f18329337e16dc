// rpc: N devices connected; open-loop commands at fixed rates (default 500, 2000, 5000 /s)
// through the broker (cloud.broker.call, as the REST API does), round robin over devices.
// Latency from the intended send to the result, HDR histogram, coordinated omission
// corrected (see servers/rpc-driver.mjs).
import { Fleet } from "../load/fleet.mjs";
import { startHub, stopServer } from "../servers.mjs";
import { cpuWindow, progress } from "../util.mjs";

/** @param {{devices: number, heartbeatMs: number, durationS: number, rates?: number[]}} options */
export async function rpc(options) {
  const { devices, heartbeatMs, durationS } = options;
  const rates = options.rates ?? [500, 2_000, 5_000];
  progress(`rpc: ${devices} devices, rates ${rates.join(", ")} /s, ${durationS} s each`);
  const server = await startHub({ devices, heartbeatMs });
  const fleet = await new Fleet({ devices, url: server.url, mode: "hub" }).ready();
  try {
    await fleet.rates({ ping: (devices * 1000) / heartbeatMs });
    const connected = await fleet.connect();
    progress(`rpc: ${connected.connected} connected`);
    const steps = [];
    for (const rate of rates) {
      await server.child.call("windowStart");
      const cpu = cpuWindow();
      const step = await server.child.call("rpc", { rate, durationS, warmupS: 1, timeoutMs: 10_000 });
      const window = await server.child.call("windowStop");
      step.lagP99Ms = window.lagP99Ms;
      step.machineBusyPct = cpu().machineBusyPct;
      steps.push(step);
      progress(
        `rpc: ${rate}/s → p50 ${step.latencyMs.p50} ms, p99 ${step.latencyMs.p99} ms, p99.9 ${step.latencyMs.p999} ms, ` +
          `errors ${step.errorCount}, hub cpu ${step.hubCpuPct} %, lag p99 ${step.lagP99Ms} ms, machine ${step.machineBusyPct} %`,
      );
    }
    const at = (rate) => steps.find((s) => s.rate === rate);
    const target = at(2_000);
    return {
      devices,
      connected: connected.connected,
      p50At2000Ms: target?.latencyMs.p50,
      p99At2000Ms: target?.latencyMs.p99,
      steps,
    };
  } finally {
    await fleet.close();
    await stopServer(server);
  }
}
