// Reconnect storm, short form (issue #3 note): N devices reconnect at once to a hub in
// another process, once with resume tokens and once with secrets only (bcrypt for every
// device). Prints time until 50 %, 99 %, 100 % are online for each, and the ratio.
//   node bench/reconnect-storm.mjs [devices=5000]
import { fork } from "node:child_process";
import { encode } from "@cloudedge/protocol";
import WebSocket from "ws";

const devices = Number(process.argv[2] ?? 5000);

function startHub(acceptTokens) {
  const hub = fork(new URL("./reconnect-hub.mjs", import.meta.url), [], {
    env: { ...process.env, DEVICES: String(devices), ACCEPT_TOKENS: acceptTokens ? "1" : "0" },
  });
  return new Promise((resolve) => hub.once("message", (info) => resolve({ hub, ...info })));
}

/** Connects every device at once; resolves with per-device welcome times (ms from start) and tokens. */
function storm(port, ids, credentials) {
  const started = performance.now();
  const times = [];
  const tokens = new Array(ids.length);
  const sockets = [];
  let failed = 0;
  return new Promise((resolve) => {
    let pending = ids.length;
    const done = () => {
      if (--pending === 0) resolve({ times: times.sort((a, b) => a - b), tokens, sockets, failed });
    };
    ids.forEach((deviceId, i) => {
      // Spread source addresses over 127.0.0.2–254 so ephemeral ports never run out.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
        perMessageDeflate: false,
        localAddress: `127.0.0.${2 + (i % 253)}`,
      });
      sockets.push(ws);
      let settled = false;
      ws.on("open", () => {
        ws.send(
          encode({
            type: "hello",
            versions: [1],
            deviceId,
            ...credentials(i),
            agent: { name: "bench", version: "1" },
            bootId: "b",
            desiredVersion: 0,
          }),
        );
      });
      ws.on("message", (data) => {
        const pdu = JSON.parse(data.toString());
        if (pdu.type === "welcome" && !settled) {
          settled = true;
          times.push(performance.now() - started);
          tokens[i] = pdu.token;
          done();
        }
      });
      ws.on("close", () => {
        if (!settled) {
          settled = true;
          failed++;
          done();
        }
      });
      ws.on("error", () => {});
    });
  });
}

const at = (times, q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)] ?? Number.NaN;
/** Drops every socket and waits until all are closed. */
function closeAll(sockets) {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once("close", resolve);
          ws.terminate();
        }),
    ),
  );
}

async function scenario(name, acceptTokens) {
  const { hub, port, ids, secret } = await startHub(acceptTokens);
  // First connection with the secret (this also yields the tokens).
  const first = await storm(port, ids, () => ({ secret }));
  await closeAll(first.sockets);
  await new Promise((r) => setTimeout(r, 500));
  const credentials = acceptTokens ? (i) => ({ token: first.tokens[i] }) : () => ({ secret });
  const second = await storm(port, ids, credentials);
  hub.send("stats");
  const { stats, rss } = await new Promise((resolve) => hub.once("message", resolve));
  await closeAll(second.sockets);
  hub.send("exit");
  const result = {
    name,
    devices,
    p50Ms: Math.round(at(second.times, 0.5)),
    p99Ms: Math.round(at(second.times, 0.99)),
    allMs: Math.round(second.times.at(-1) ?? Number.NaN),
    failed: second.failed,
    viaToken: stats.handshakes.viaToken,
    viaSecret: stats.handshakes.viaSecret,
    hubRssMiB: Math.round(rss / 1048576),
  };
  console.log(JSON.stringify(result));
  return result;
}

const tokens = await scenario("reconnect with resume tokens", true);
const secrets = await scenario("reconnect with secrets (bcrypt cost 10)", false);
console.log(
  JSON.stringify({
    devices,
    tokensAllMs: tokens.allMs,
    secretsAllMs: secrets.allMs,
    ratio: +(secrets.allMs / tokens.allMs).toFixed(1),
  }),
);
