import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsJobLeases } from "../../src/nats.js";
import { NATS_TEST_URL, NatsTestCluster, until } from "./support/nats-test-server.js";

describe("NatsJobLeases (real NATS JetStream KV)", () => {
  let nats: NatsTestCluster;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await NatsTestCluster.create();
    nc = await connect({ servers: NATS_TEST_URL });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.drop();
  });

  it("one holder at a time: renewals keep it, a release or a lapse frees it", async () => {
    const open = (holder: string) => NatsJobLeases.open(nc, { prefix: nats.prefix, holder, ttlMs: 1_000 });
    const a = await open("node-a");
    const b = await open("node-b");
    expect(await a.acquire("job-1")).toBe(true);
    expect(await b.acquire("job-1")).toBe(false);
    expect(await a.acquire("job-1")).toBe(true); // renewal
    expect(await b.acquire("job-2")).toBe(true); // leases are per job
    await b.release("job-1"); // not b's: nothing happens
    expect(await b.acquire("job-1")).toBe(false);
    await a.release("job-1");
    expect(await b.acquire("job-1")).toBe(true);
    // b stops renewing (as a dead node does): once the entry lapsed, a takes it.
    await until(async () => a.acquire("job-1"), "the lease to lapse", 5_000);
    expect(await b.acquire("job-1")).toBe(false);
    // Two racing for a free lease: exactly one wins.
    const wins = await Promise.all([a.acquire("job-3"), b.acquire("job-3")]);
    expect(wins.filter(Boolean)).toHaveLength(1);
  });
});
