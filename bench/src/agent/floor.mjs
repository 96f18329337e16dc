// The floor of the agent scenario: the least a Node agent can do. One WebSocket (hello, then
// a ping every interval) and, each interval, /proc/stat, /proc/meminfo and statfs("/").
// argv: <ws url> <device id> <secret> <interval ms>. Prints "online" at welcome.
import { readFileSync } from "node:fs";
import { statfs } from "node:fs/promises";
import WebSocket from "ws";

const [url, deviceId, secret, intervalArg] = process.argv.slice(2);
const intervalMs = Number(intervalArg);
const socket = new WebSocket(url, { perMessageDeflate: false });
let seq = 0;
let sink = 0;

socket.on("open", () => {
  socket.send(
    JSON.stringify({
      type: "hello",
      versions: [1],
      deviceId,
      secret,
      agent: { name: "bench-floor", version: "0" },
      bootId: `floor-${process.pid}`,
      desiredVersion: 0,
    }),
  );
});
socket.on("message", (data) => {
  const pdu = JSON.parse(String(data));
  if (pdu.type !== "welcome") return;
  process.stdout.write("online\n");
  setInterval(async () => {
    socket.send(JSON.stringify({ type: "ping", seq: seq++, ts: Date.now() }));
    sink += readFileSync("/proc/stat", "latin1").length + readFileSync("/proc/meminfo", "latin1").length;
    sink += (await statfs("/")).bavail;
  }, intervalMs);
});
socket.on("close", (code) => {
  process.stderr.write(`floor: closed ${code} (${sink})\n`);
  process.exit(1);
});
