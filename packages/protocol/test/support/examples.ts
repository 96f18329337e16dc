import type { Pdu } from "../../src/index.js";

const now = 1_795_600_000_000;

/** Hand-written valid PDUs: at least one per type, the shapes docs/protocol.md shows. */
export const VALID_PDUS: Array<[string, Pdu]> = [
  [
    "hello by id with secret",
    {
      type: "hello",
      versions: [1],
      deviceId: "1189273498234982400",
      secret: "s3cr3t-s3cr3t-s3cr3t",
      agent: { name: "cloudedge-agent", version: "0.1.0" },
      bootId: "5f0c6f1e-boot",
      desiredVersion: 0,
    },
  ],
  [
    "hello by serial+model with token and hardware",
    {
      type: "hello",
      versions: [1, 2],
      serialNumber: "SN-0001",
      model: "gw-200",
      token: "v1.abc.def",
      agent: { name: "py-device", version: "2.3" },
      bootId: "b2",
      desiredVersion: 7,
      hardware: { nics: [{ type: "ethernet", name: "eth0", mac: "00:11:22:33:44:55", ipv4: "10.0.0.2" }] },
      software: { version: "1.4.2", lastUpdate: now },
    },
  ],
  [
    "welcome with desired delta",
    {
      type: "welcome",
      version: 1,
      sessionId: "sess-1",
      deviceId: "1189273498234982400",
      heartbeatMs: 30000,
      token: "v1.abc.def",
      tokenExpiresAt: now + 86_400_000,
      serverTime: now,
      maxFrameBytes: 262144,
      reportedVersion: 3,
      desired: { version: 8, patch: { statusIntervalMs: 10000 }, full: false },
    },
  ],
  [
    "welcome without desired",
    {
      type: "welcome",
      version: 1,
      sessionId: "s",
      deviceId: "1",
      heartbeatMs: 1000,
      token: "t",
      tokenExpiresAt: now,
      serverTime: now,
      maxFrameBytes: 1024,
      reportedVersion: 0,
    },
  ],
  ["ping", { type: "ping", seq: 0 }],
  ["ping with ts", { type: "ping", seq: 42, ts: now }],
  ["pong", { type: "pong", seq: 42, serverTime: now }],
  [
    "status full",
    {
      type: "status",
      ts: now,
      data: {
        cpu: { usagePercent: 12.5, cores: 4, load: [0.1, 0.2, 0.3] },
        memory: { totalBytes: 4e9, usedBytes: 1e9 },
        disks: [{ mount: "/", totalBytes: 3.2e10, usedBytes: 1.1e10 }],
        uptimeS: 3600,
        temperatureC: 48.5,
      },
    },
  ],
  [
    "status partial with collector error",
    { type: "status", ts: now, data: { errors: { gpu: "timed out" } } },
  ],
  ["reported", { type: "reported", version: 4, patch: { logLevel: "debug", statusIntervalMs: null } }],
  ["desired patch", { type: "desired", version: 9, patch: { logLevel: "info" } }],
  ["desired full", { type: "desired", version: 9, patch: { a: { b: 1 } }, full: true }],
  [
    "cmd",
    {
      type: "cmd",
      id: "1189273498234982401",
      method: "system.reboot",
      params: { delayS: 5 },
      deadline: now + 10_000,
      timeoutMs: 10_000,
    },
  ],
  ["cmd without params", { type: "cmd", id: "c-1", method: "system.ping", deadline: now, timeoutMs: 0 }],
  ["ack", { type: "ack", id: "c-1" }],
  ["result ok", { type: "result", id: "c-1", ok: true, data: { pong: true } }],
  ["result ok without data", { type: "result", id: "c-1", ok: true, ts: now }],
  [
    "result failed",
    {
      type: "result",
      id: "c-1",
      ok: false,
      error: { code: "method_not_found", message: "no executor for x" },
    },
  ],
  ["error", { type: "error", code: "invalid_pdu", message: "invalid ping PDU", ref: "c-1" }],
  [
    "error with issues",
    { type: "error", code: "invalid_pdu", message: "", issues: [{ path: "/seq", message: "x" }] },
  ],
  ["bye from hub", { type: "bye", reason: "server_shutdown", retryAfterMs: 4200 }],
  ["bye from device", { type: "bye", reason: "client_shutdown", message: "agent stopping" }],
];
