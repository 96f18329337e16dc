import type { Server } from "node:http";

/** Closes an HTTP server now: open connections (WebSockets included) are cut, not awaited. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
