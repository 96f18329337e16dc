import { Cloud, type CloudOptions, createMemoryStore, type Store } from "../../src/index.js";
import { FakeDevice, hello, until } from "./fake-device.js";
import { ManualClock } from "./manual-clock.js";

export const TOKEN_KEY = "k".repeat(64);

/** A Cloud on the memory store with a manual clock and cheap bcrypt, for unit tests. */
export async function makeCloud(overrides: Partial<CloudOptions> = {}, store?: Store) {
  const clock = (overrides.clock as ManualClock | undefined) ?? new ManualClock();
  const cloud = new Cloud({
    store: store ?? createMemoryStore(),
    tokenKey: TOKEN_KEY,
    clock,
    bcryptCost: 4,
    ...overrides,
    hub: { heartbeatMs: 10_000, ...overrides.hub },
  });
  const recovered = await cloud.start();
  /** Registers a device and brings it online on an in-memory connection. */
  const online = async (name = "dev", fields: Record<string, unknown> = {}) => {
    const { device, secret } = await cloud.devices.register({ name, ...fields });
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(hello({ deviceId: device.id, secret }));
    await until(() => conn.received.length > 0 || conn.closedWith !== undefined, "handshake");
    return { device, secret, conn, welcome: conn.last("welcome") };
  };
  return { cloud, clock, store: cloud.options.store, online, recovered };
}
