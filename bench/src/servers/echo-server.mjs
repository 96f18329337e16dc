// The baseline: a bare `ws` echo server (deflate off, same frame limit as the hub) in its
// own process. Whatever the hub costs above this is the hub's own.
import { createServer } from "node:http";
import { writeHeapSnapshot } from "node:v8";
import { WebSocketServer } from "ws";
import { childConfig, serve } from "../ipc.mjs";
import { probeHandlers } from "./probe.mjs";

const config = childConfig();
const server = createServer();
const wss = new WebSocketServer({ server, path: "/ws", perMessageDeflate: false, maxPayload: 262_144 });
let messages = 0;
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    messages++;
    ws.send(data, { binary: isBinary });
  });
  ws.on("error", () => {});
});
server.listen(config.port ?? 0, "127.0.0.1", () => {
  const address = server.address();
  serve(
    {
      ...probeHandlers,
      stats: () => ({ sessions: wss.clients.size, messages }),
      heapSnapshot: ({ file }) => {
        globalThis.gc?.();
        return writeHeapSnapshot(file);
      },
    },
    { port: typeof address === "object" && address ? address.port : 0 },
  );
});
