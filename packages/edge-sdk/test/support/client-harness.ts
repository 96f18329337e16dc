import type { WelcomePdu } from "@cloudedge/protocol";
import type { EdgeClientOptions } from "../../src/client-options.js";
import { EdgeClient } from "../../src/edge-client.js";
import { MemoryStorage } from "../../src/storage.js";
import { fakeSockets, welcome } from "./fake-socket.js";
import { ManualClock, settle } from "./manual-clock.js";

export const SECRET = "secret-secret-secret-1";

/** An EdgeClient on fake sockets and virtual time. */
export function harness(options: Partial<EdgeClientOptions> = {}) {
  const clock = new ManualClock();
  const net = fakeSockets();
  const storage = (options.storage as MemoryStorage | undefined) ?? new MemoryStorage();
  const client = new EdgeClient({
    url: "ws://hub.test/ws",
    deviceId: "1001",
    secret: SECRET,
    clock,
    random: () => 0.5,
    createSocket: net.createSocket,
    storage,
    backoff: { baseMs: 1_000, capMs: 60_000 },
    ...options,
  });
  /** Opens the newest socket and answers its hello with `welcome`. */
  const accept = async (overrides: Partial<WelcomePdu> = {}) => {
    const socket = net.last();
    socket.open();
    socket.deliver(
      welcome({ serverTime: clock.now(), tokenExpiresAt: clock.now() + 86_400_000, ...overrides }),
    );
    await settle();
    return socket;
  };
  const connect = async (overrides: Partial<WelcomePdu> = {}) => {
    await client.start();
    return accept(overrides);
  };
  return { clock, net, storage, client, accept, connect };
}
