// One load-generator process: up to ~18,000 lean devices (this machine allows 20,000 open
// files per process) speaking protocol v1 through @cloudedge/protocol — hello → welcome,
// pings at a set aggregate rate, ack + result for every cmd, status snapshots — with source
// addresses spread over 127.0.0.2–254 so ephemeral ports never run out. In "echo" mode
// the same devices run against the bare ws echo server: the first reply counts as welcome
// and an echoed ping as its pong.

import { build as buildHistogram } from "hdr-histogram-js";
import WebSocket from "ws";
import { deviceId, FLEET_SECRET, INITIAL_GENERATION, TOKEN_KEY } from "../fleet-ids.mjs";
import { childConfig, serve } from "../ipc.mjs";
import { CloseCode, decode, encode, parseRetryAfter, ResumeTokens } from "./protocol-deps.mjs";

const config = childConfig();
const { firstIndex, count, url, mode } = config;
const tokens = new ResumeTokens(TOKEN_KEY);
const issuedAt = Date.now();

/** Pings are templated (validated once below): the generator must stay cheaper than the hub. */
const pingText = (seq) => `{"type":"ping","seq":${seq}}`;
if (!decode(pingText(0), { from: "device" }).ok) throw new Error("ping template is not a valid PDU");

const counters = {
  welcomes: 0,
  handshakeFailures: 0,
  pingsSent: 0,
  pongs: 0,
  cmds: 0,
  results: 0,
  statusSent: 0,
  closes: 0,
  closeCodes: {},
  errors: {},
};

/** Ping → pong round trips (µs) while a window is open (rttStart/rttStop); null otherwise: no cost. */
let rtt = null;
function recordPong(device) {
  if (rtt && device.pingAt > 0) {
    rtt.recordValue(Math.max(1, Math.round((performance.now() - device.pingAt) * 1000)));
    device.pingAt = 0;
  }
}

class Device {
  constructor(index) {
    this.index = index;
    this.id = deviceId(index);
    // Provisioned as if it had connected before: a resume token of its current generation.
    this.token = tokens.issue(this.id, INITIAL_GENERATION, issuedAt).token;
    this.localAddress = `127.0.0.${2 + (index % 253)}`;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.online = false;
    this.seq = 0;
    this.attempts = 0;
    this.lastTs = 0;
    this.welcomedAt = 0;
    /** performance.now() of the unanswered ping, while an RTT window is open. */
    this.pingAt = 0;
    this.onWelcome = null;
    this.timer = null;
  }
}

const devices = Array.from({ length: count }, (_, k) => new Device(firstIndex + k));
let credentials = config.credentials ?? "token";
let reconnect = false;
/** Absolute ms of each device's first welcome since `arm` (storm timing). */
let welcomeTimes = [];
let armed = false;

function hello(device) {
  const creds =
    credentials === "secret" || !device.token ? { secret: FLEET_SECRET } : { token: device.token };
  return encode({
    type: "hello",
    versions: [1],
    deviceId: device.id,
    ...creds,
    agent: { name: "cloudedge-bench", version: "1" },
    bootId: "bench",
    desiredVersion: 0,
  });
}

function open(device) {
  const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: device.localAddress });
  device.ws = ws;
  device.online = false;
  let welcomed = false;
  ws.on("open", () => ws.send(hello(device)));
  ws.on("message", (data) => {
    const text = data.toString();
    if (!welcomed) {
      if (mode === "hub") {
        const result = decode(text, { from: "hub" });
        if (!result.ok || result.pdu.type !== "welcome") {
          if (result.ok && result.pdu.type === "error") count1(counters.errors, result.pdu.code);
          return;
        }
        device.token = result.pdu.token;
      }
      welcomed = true;
      device.online = true;
      device.seq = 0;
      device.welcomedAt = Date.now();
      counters.welcomes++;
      if (armed && device.firstWelcomeAfterArm === undefined) {
        device.firstWelcomeAfterArm = device.welcomedAt;
        welcomeTimes.push(device.welcomedAt);
      }
      device.onWelcome?.(true);
      device.onWelcome = null;
      return;
    }
    if (mode === "echo") {
      if (text.startsWith('{"type":"ping"')) counters.pongs++;
      return;
    }
    if (text.startsWith('{"type":"pong"')) {
      counters.pongs++;
      recordPong(device);
      return;
    }
    const result = decode(text, { from: "hub" });
    if (!result.ok) return;
    const pdu = result.pdu;
    if (pdu.type === "cmd") {
      counters.cmds++;
      ws.send(encode({ type: "ack", id: pdu.id }));
      ws.send(encode({ type: "result", id: pdu.id, ok: true, data: pdu.params ?? null }));
      counters.results++;
    } else if (pdu.type === "error") {
      count1(counters.errors, pdu.code);
    } else if (pdu.type === "pong") {
      counters.pongs++;
      recordPong(device);
    }
  });
  ws.on("close", (code, reasonBuffer) => {
    counters.closes++;
    count1(counters.closeCodes, String(code));
    const wasOnline = device.online;
    device.online = false;
    device.ws = null;
    if (!welcomed) counters.handshakeFailures++;
    if (device.onWelcome) {
      device.onWelcome(false);
      device.onWelcome = null;
    }
    if (reconnect) scheduleReconnect(device, code, reasonBuffer.toString(), wasOnline);
  });
  ws.on("error", () => {});
}

function count1(map, key) {
  map[key] = (map[key] ?? 0) + 1;
}

// docs/protocol.md §4.4: full-jitter exponential backoff, base 1 s, cap 60 s; the close
// code's advice decides (retry-after hints honoured, 4012 → at once with the secret).
const BASE_MS = 1_000;
const CAP_MS = 60_000;
function scheduleReconnect(device, code, reason, wasOnline) {
  if (wasOnline && Date.now() - device.welcomedAt >= 60_000) device.attempts = 0;
  const backoff = Math.random() * Math.min(CAP_MS, BASE_MS * 2 ** device.attempts);
  let delay = backoff;
  if (code === CloseCode.TRY_LATER || code === CloseCode.SERVER_SHUTDOWN || code === CloseCode.RATE_LIMITED) {
    delay = Math.max(parseRetryAfter(reason) ?? 0, backoff);
  } else if (code === CloseCode.TOKEN_REJECTED) {
    device.token = null;
    delay = 0;
  } else if ([4001, 4003, 4006, 4007].includes(code)) {
    delay = CAP_MS / 2 + (Math.random() * CAP_MS) / 2;
  }
  if (code !== CloseCode.TOKEN_REJECTED) device.attempts++;
  clearTimeout(device.timer);
  device.timer = setTimeout(() => {
    if (reconnect && !device.ws) open(device);
  }, delay);
}

/** Connects every not-yet-online device, `window` handshakes in flight; retries failures a few times. */
async function connectAll({ window = 200, retries = 5, fraction = 1 } = {}) {
  const started = performance.now();
  let failed = 0;
  const queue = devices.slice(0, Math.round(devices.length * fraction)).filter((d) => !d.online && !d.ws);
  let cursor = 0;
  const worker = async () => {
    while (cursor < queue.length) {
      const device = queue[cursor++];
      for (let attempt = 0; attempt <= retries; attempt++) {
        const ok = await new Promise((resolve) => {
          device.onWelcome = resolve;
          open(device);
        });
        if (ok) break;
        if (attempt === retries) failed++;
        else await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, queue.length) }, worker));
  return { connected: queue.length - failed, failed, ms: Math.round(performance.now() - started) };
}

// One ticker drives all pings and status reports at aggregate rates, round robin over
// online devices: no timer per device, so the generator stays cheap at 18,000 devices.
let pingRate = 0;
let statusRate = 0;
let pingBudget = 0;
let statusBudget = 0;
let lastTick = performance.now();
const TICK_MS = 10;

function nextOnline(cursor) {
  for (let scanned = 0; scanned < devices.length; scanned++) {
    const device = devices[cursor.value];
    cursor.value = (cursor.value + 1) % devices.length;
    if (device.online && device.ws) return device;
  }
  return undefined;
}
const pingPos = { value: 0 };
const statusPos = { value: 0 };

function snapshot(device) {
  const ts = Math.max(Date.now(), device.lastTs + 1);
  device.lastTs = ts;
  return encode({
    type: "status",
    ts,
    data: {
      cpu: { usagePercent: 12.5, cores: 4, load: [0.31, 0.27, 0.2] },
      memory: { totalBytes: 4_294_967_296, usedBytes: 1_073_741_824 },
      disks: [{ mount: "/", totalBytes: 31_268_536_320, usedBytes: 9_663_676_416 }],
      uptimeS: Math.round(process.uptime()),
    },
  });
}

setInterval(() => {
  const now = performance.now();
  const dt = Math.min(1_000, now - lastTick) / 1000;
  lastTick = now;
  pingBudget = Math.min(pingBudget + pingRate * dt, pingRate);
  statusBudget = Math.min(statusBudget + statusRate * dt, statusRate);
  while (pingBudget >= 1) {
    pingBudget--;
    const device = nextOnline(pingPos);
    if (!device) break;
    device.ws.send(pingText(device.seq++));
    if (rtt) device.pingAt = performance.now();
    counters.pingsSent++;
  }
  while (statusBudget >= 1) {
    statusBudget--;
    const device = nextOnline(statusPos);
    if (!device) break;
    device.ws.send(snapshot(device));
    counters.statusSent++;
  }
}, TICK_MS);

serve(
  {
    connect: (args) => connectAll(args),
    rates: ({ ping, status }) => {
      if (ping !== undefined) pingRate = ping;
      if (status !== undefined) statusRate = status;
      return true;
    },
    /** Storm mode: from now on devices reconnect by themselves and first welcomes are timed. */
    arm: ({ credentials: mode }) => {
      if (mode) credentials = mode;
      reconnect = true;
      armed = true;
      welcomeTimes = [];
      for (const device of devices) {
        device.attempts = 0;
        device.firstWelcomeAfterArm = undefined;
      }
      return true;
    },
    welcomeTimes: () => welcomeTimes,
    /** Opens a window of ping → pong round trips (hub mode). */
    rttStart: () => {
      rtt = buildHistogram({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 600_000_000,
        numberOfSignificantValueDigits: 3,
      });
      for (const device of devices) device.pingAt = 0;
      return true;
    },
    /** Closes it: the round trips in µs as a compressed HDR histogram (base64). */
    rttStop: () => {
      const window = rtt;
      rtt = null;
      return window ? window.encodeIntoCompressedBase64() : null;
    },
    stats: () => ({
      ...counters,
      online: devices.reduce((n, d) => n + (d.online ? 1 : 0), 0),
      cpu: process.cpuUsage(),
      rss: process.memoryUsage.rss(),
    }),
    closeAll: async () => {
      reconnect = false;
      armed = false;
      pingRate = 0;
      statusRate = 0;
      await Promise.all(
        devices.map(
          (device) =>
            new Promise((resolve) => {
              clearTimeout(device.timer);
              const ws = device.ws;
              if (!ws || ws.readyState === WebSocket.CLOSED) return resolve(undefined);
              ws.once("close", () => resolve(undefined));
              ws.terminate();
            }),
        ),
      );
      return true;
    },
  },
  { count },
);
