// storm: N devices online, the hub process is killed (SIGKILL) and a new one started on
// the same port; devices reconnect as protocol §4.4 says (full-jitter backoff from 1 s,
// retry-after honoured). Time from the kill until 50 / 99 / 100 % are back online — once
// with resume tokens, once with tokens disabled (bcrypt for every device) — plus the new
// hub's peak RSS and the handshakes it failed or told to try later.
import { Fleet } from "../load/fleet.mjs";
import { startHub, stopServer } from "../servers.mjs";
import { MiB, progress, round, until } from "../util.mjs";

async function run(label, { devices, heartbeatMs, acceptTokens, timeoutMs }) {
  const first = await startHub({ devices, heartbeatMs });
  const fleet = await new Fleet({ devices, url: first.url, mode: "hub" }).ready();
  let second;
  try {
    await fleet.rates({ ping: (devices * 1000) / heartbeatMs });
    const connected = await fleet.connect();
    progress(`storm/${label}: ${connected.connected} online; killing the hub`);
    await fleet.all("arm", { credentials: acceptTokens ? "token" : "secret" });
    const killedAt = Date.now();
    await first.child.kill("SIGKILL");
    second = await startHub({ devices, heartbeatMs, acceptTokens, port: first.port });
    const readyAt = Date.now();
    progress(`storm/${label}: new hub up after ${readyAt - killedAt} ms`);
    let last = 0;
    const back = await until(
      async () => {
        const stats = await fleet.stats();
        last = stats.online;
        return stats.online >= devices ? stats : undefined;
      },
      {
        timeoutMs,
        everyMs: 250,
        onTick: () => {
          if (Date.now() % 5_000 < 250) progress(`storm/${label}: ${last}/${devices} back`);
        },
      },
    );
    const times = (await fleet.welcomeTimes()).map((t) => t - killedAt).sort((a, b) => a - b);
    const hub = await second.child.call("stats");
    const peakRss = await second.child.call("peakRss");
    const failed = Object.values(hub.hub.handshakes.failed).reduce((a, b) => a + b, 0);
    // Time until ceil(q·N) devices were back (null when they never were).
    const pct = (q) => {
      const k = Math.ceil(q * devices);
      return times.length >= k ? times[k - 1] : null;
    };
    const result = {
      devices,
      back: times.length,
      allBack: back !== undefined,
      restartMs: readyAt - killedAt,
      firstMs: times[0] ?? null,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      allMs: times.length >= devices ? times[devices - 1] : null,
      allSinceReadyMs: times.length >= devices ? times[devices - 1] - (readyAt - killedAt) : null,
      peakRssMiB: round(peakRss / MiB, 1),
      viaToken: hub.hub.handshakes.viaToken,
      viaSecret: hub.hub.handshakes.viaSecret,
      failedHandshakes: failed,
      failedByReason: hub.hub.handshakes.failed,
      tryLater: hub.hub.tryLater,
      curve: curve(times, devices),
    };
    progress(
      `storm/${label}: 50 % ${result.p50Ms} ms, 99 % ${result.p99Ms} ms, 100 % ${result.allMs} ms after the kill ` +
        `(try-later ${result.tryLater}, failed ${failed})`,
    );
    return result;
  } finally {
    await fleet.close();
    if (second) await stopServer(second);
    await first.child.kill();
  }
}

/** Online count over time since the kill, at most ~200 points, for the chart. */
function curve(times, devices) {
  if (times.length === 0) return [];
  const points = [];
  const every = Math.max(1, Math.floor(times.length / 200));
  for (let i = 0; i < times.length; i += every)
    points.push({ ms: times[i], online: i + 1, pct: round(((i + 1) / devices) * 100, 2) });
  const lastIndex = times.length - 1;
  if (points.at(-1)?.online !== lastIndex + 1)
    points.push({
      ms: times[lastIndex],
      online: lastIndex + 1,
      pct: round(((lastIndex + 1) / devices) * 100, 2),
    });
  return points;
}

/** @param {{devices: number, heartbeatMs: number, bcryptDevices?: number}} options */
export async function storm(options) {
  const bcryptDevices = options.bcryptDevices ?? Math.min(options.devices, 2_000);
  progress(`storm: ${options.devices} devices with tokens, ${bcryptDevices} with bcrypt`);
  const tokens = await run("tokens", { ...options, acceptTokens: true, timeoutMs: 120_000 });
  const bcrypt = await run("bcrypt", {
    ...options,
    devices: bcryptDevices,
    acceptTokens: false,
    timeoutMs: Math.max(180_000, bcryptDevices * 100),
  });
  // bcrypt handshakes per second from the first to the last welcome: what a fleet of N would need.
  const bcryptPerS =
    bcrypt.allMs && bcrypt.firstMs !== null
      ? round((bcrypt.devices - 1) / ((bcrypt.allMs - bcrypt.firstMs) / 1000), 1)
      : null;
  return {
    devices: options.devices,
    tokensP50Ms: tokens.p50Ms,
    tokensP99Ms: tokens.p99Ms,
    tokensAllMs: tokens.allMs,
    bcryptDevices,
    bcryptAllMs: bcrypt.allMs,
    bcryptHandshakesPerS: bcryptPerS,
    bcryptProjectedAllMsForN: bcryptPerS ? Math.round((options.devices / bcryptPerS) * 1000) : null,
    peakRssMiB: tokens.peakRssMiB,
    failedHandshakes: tokens.failedHandshakes,
    tokens,
    bcrypt,
  };
}
