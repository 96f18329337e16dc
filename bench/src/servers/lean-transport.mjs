// Experiment (hub-server `transport: "lean"`): the same DeviceHub behind a ws adapter that
// keeps no reference to the upgrade request and no per-connection closures — to measure what
// packages/cloud-sdk/src/hub/ws-transport.ts costs per connection (bench/results/NOTES.md).
import { WebSocketServer } from "ws";

class WsConnection {
  constructor(ws, remoteAddress) {
    this.ws = ws;
    this.remoteAddress = remoteAddress;
  }
  get bufferedAmount() {
    return this.ws.bufferedAmount;
  }
  send(text) {
    this.ws.send(text);
  }
  close(code, reason) {
    this.ws.close(code, reason);
  }
  terminate() {
    this.ws.terminate();
  }
}

function onMessage(data) {
  this.handle.message(data);
}
function onClose(code) {
  this.handle.closed(code);
}
function onError() {}

function bind(hub, ws, remoteAddress) {
  ws.handle = hub.accept(new WsConnection(ws, remoteAddress));
  ws.on("message", onMessage);
  ws.on("close", onClose);
  ws.on("error", onError);
}

/** Serves `hub` on `server` at `path` like HubWebSocketServer.attach, minus the retention. */
export function attachLean(hub, server, path) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: hub.limits.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });
  server.on("upgrade", (request, socket, head) => {
    if (new URL(request.url ?? "/", "http://localhost").pathname !== path) return socket.destroy();
    socket.on("error", () => socket.destroy());
    const remoteAddress = request.socket.remoteAddress ?? "unknown";
    wss.handleUpgrade(request, socket, head, (ws) => bind(hub, ws, remoteAddress));
  });
}
