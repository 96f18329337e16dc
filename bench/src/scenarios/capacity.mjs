// capacity: ramp to N authenticated, heartbeating devices on the hub and on a bare ws echo
// server under the same generator; memory per connection after GC (minus the process's own
// baseline with the fleet registered), connect rate, RSS-vs-connections curve.
import { Fleet } from "../load/fleet.mjs";
import { startEcho, startHub, stopServer } from "../servers.mjs";
import { MiB, progress, round, sleep } from "../util.mjs";

const STEPS = 10;

async function ramp(target, options) {
  const { devices, heartbeatMs } = options;
  const server = target === "hub" ? await startHub({ devices, heartbeatMs }) : await startEcho();
  const fleet = await new Fleet({
    devices,
    url: server.url,
    mode: target === "hub" ? "hub" : "echo",
  }).ready();
  try {
    // Settle first: a fresh process hands startup memory back to the OS over a few seconds.
    const small = devices < 2_000; // smoke runs: shorter settling
    await sleep(small ? 500 : 3_000);
    const base = await server.child.call("mem");
    // Every device heartbeats at the interval the hub announces.
    await fleet.rates({ ping: (devices * 1000) / heartbeatMs });
    const curve = [
      { connections: 0, rssMiB: round(base.rss / MiB, 1), heapMiB: round(base.heapUsed / MiB, 1) },
    ];
    let connectMs = 0;
    let failed = 0;
    for (let step = 1; step <= STEPS; step++) {
      const result = await fleet.connect({ fraction: step / STEPS });
      connectMs += result.ms;
      failed += result.failed;
      const stats = await server.child.call("stats");
      const mem = await server.child.call("mem");
      curve.push({
        connections: stats.sessions,
        rssMiB: round(mem.rss / MiB, 1),
        heapMiB: round(mem.heapUsed / MiB, 1),
      });
      progress(`capacity/${target}: ${stats.sessions}/${devices} connected, rss ${round(mem.rss / MiB)} MiB`);
    }
    // Let a full round of heartbeats pass at this size before the final reading.
    await sleep(small ? 500 : Math.min(heartbeatMs, 3_000));
    await server.child.call("windowStart");
    await sleep(small ? 1_000 : 2_000);
    const window = await server.child.call("windowStop");
    const final = await server.child.call("mem");
    const stats = await server.child.call("stats");
    const gen = await fleet.stats();
    const connections = stats.sessions;
    return {
      connections,
      online: gen.online,
      failedHandshakes: failed,
      connectMs,
      connectPerS: Math.round(connections / (connectMs / 1000)),
      baseline: { rssMiB: round(base.rss / MiB, 1), heapMiB: round(base.heapUsed / MiB, 1) },
      final: { rssMiB: round(final.rss / MiB, 1), heapMiB: round(final.heapUsed / MiB, 1) },
      bytesPerConn: Math.round((final.rss - base.rss) / connections),
      rssSlopeBytesPerConn: Math.round(slope(curve.map((p) => [p.connections, p.rssMiB * MiB]))),
      heapBytesPerConn: Math.round((final.heapUsed - base.heapUsed) / connections),
      idle: window,
      curve,
    };
  } finally {
    await fleet.close();
    await stopServer(server);
  }
}

/** Least-squares slope of y over x: RSS growth per connection along the ramp. */
function slope(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** @param {{devices: number, heartbeatMs: number}} options */
export async function capacity(options) {
  progress(`capacity: ${options.devices} devices, heartbeat ${options.heartbeatMs} ms`);
  const hub = await ramp("hub", options);
  const ws = await ramp("ws", options);
  return {
    devices: options.devices,
    heartbeatMs: options.heartbeatMs,
    hubConnections: hub.connections,
    hubBytesPerConn: hub.bytesPerConn,
    wsBytesPerConn: ws.bytesPerConn,
    ratio: round(hub.bytesPerConn / ws.bytesPerConn, 2),
    hubHeapBytesPerConn: hub.heapBytesPerConn,
    wsHeapBytesPerConn: ws.heapBytesPerConn,
    heapRatio: round(hub.heapBytesPerConn / Math.max(1, ws.heapBytesPerConn), 2),
    hubSlopeBytesPerConn: hub.rssSlopeBytesPerConn,
    wsSlopeBytesPerConn: ws.rssSlopeBytesPerConn,
    hubConnectPerS: hub.connectPerS,
    wsConnectPerS: ws.connectPerS,
    hub,
    ws,
  };
}
