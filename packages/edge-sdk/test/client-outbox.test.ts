import { afterEach, describe, expect, it } from "vitest";
import type { Collector } from "../src/collector.js";
import { collectStatus } from "../src/collector.js";
import type { EdgeClient } from "../src/edge-client.js";
import { Outbox } from "../src/outbox.js";
import { MemoryStorage, SaveQueue } from "../src/storage.js";
import { harness, SECRET } from "./support/client-harness.js";
import { ManualClock, settle } from "./support/manual-clock.js";

const clients: EdgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function setup(options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  clients.push(h.client);
  return h;
}

describe("Outbox", () => {
  it("drops the oldest past the bound and counts them", () => {
    const outbox = new Outbox(3);
    const drops = [1, 2, 3, 4, 5].map((ts) => outbox.push({ type: "status", ts, data: {} }));
    expect(drops).toEqual([0, 0, 0, 1, 1]);
    expect(outbox.dropped).toBe(2);
    expect(outbox.peek()).toMatchObject({ ts: 3 });
    const copy = new Outbox(2);
    copy.load(outbox.toJSON());
    expect(copy.size).toBe(2);
    expect(copy.dropped).toBe(3);
  });
});

describe("EdgeClient outbox (docs/protocol.md §6.4)", () => {
  it("keeps reports made offline and flushes them oldest first with their original ts", async () => {
    const h = setup({ random: () => 0 });
    const s1 = await h.connect();
    expect(await h.client.sendStatus({ uptimeS: 1 })).toBe(true);
    s1.serverClose(1006, "");
    await settle();
    const stamps: number[] = [];
    for (let i = 0; i < 3; i++) {
      await h.clock.advance(10_000);
      stamps.push(h.clock.now());
      expect(await h.client.sendStatus({ uptimeS: 10 + i })).toBe(false);
    }
    expect(h.client.outboxStats).toEqual({ size: 3, dropped: 0 });
    const s2 = await h.accept();
    expect(s2.of("status").map((p) => [p.ts, p.data.uptimeS])).toEqual([
      [stamps[0], 10],
      [stamps[1], 11],
      [stamps[2], 12],
    ]);
    expect(h.client.outboxStats.size).toBe(0);
  });

  it("is bounded: drops the oldest and says so", async () => {
    const h = setup({ outboxMax: 2 });
    const dropped: number[] = [];
    h.client.on("outboxDropped", (i) => dropped.push(i.totalDropped));
    for (let i = 0; i < 4; i++) await h.client.sendStatus({ uptimeS: i }, 1_000 + i);
    expect(dropped).toEqual([1, 2]);
    const s = await h.connect();
    expect(s.of("status").map((p) => p.ts)).toEqual([1_002, 1_003]);
  });

  it("persists across a restart of the client", async () => {
    const storage = new MemoryStorage();
    const a = setup({ storage });
    await a.client.start();
    await a.client.sendStatus({ uptimeS: 5 }, 12_345);
    await a.client.close();
    const b = setup({ storage });
    const s = await b.connect();
    expect(s.of("status")).toEqual([{ type: "status", ts: 12_345, data: { uptimeS: 5 } }]);
  });

  it("rejects status data that breaks the schema", async () => {
    const h = setup();
    await expect(h.client.sendStatus({ cpu: { usagePercent: 250 } })).rejects.toMatchObject({
      code: "invalid_status",
    });
  });

  it("reports on an interval from the collectors, also while offline", async () => {
    let n = 0;
    const h = setup({ statusIntervalMs: 15_000, collectors: [{ name: "n", collect: () => ({ n: ++n }) }] });
    await h.client.start();
    await h.clock.advance(45_000);
    expect(h.client.outboxStats.size).toBe(3);
    const socket = await h.accept();
    expect(socket.of("status").map((p) => p.data["n"])).toEqual([1, 2, 3]);
    h.client.setStatusInterval(0);
    await h.clock.advance(60_000);
    expect(socket.of("status")).toHaveLength(3);
  });

  it("never hands the secret or the token to the logger", async () => {
    const lines: string[] = [];
    const log = (obj: object, msg?: string) => lines.push(JSON.stringify(obj) + (msg ?? ""));
    const h = setup({ logger: { debug: log, info: log, warn: log, error: log }, random: () => 0 });
    const s = await h.connect({ token: "TOKEN-VALUE-123" });
    s.serverClose(4012, "token_rejected");
    await h.clock.advance(0);
    await h.accept();
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain("TOKEN-VALUE-123");
    }
  });
});

describe("collectStatus", () => {
  it("merges collectors; a failing or slow one yields a partial report marked with its error", async () => {
    const clock = new ManualClock();
    let slowSignal: AbortSignal | undefined;
    const collectors: Collector[] = [
      { name: "cpu", collect: () => ({ cpu: { cores: 4 } }) },
      {
        name: "broken",
        collect: () => {
          throw new Error("sensor unplugged");
        },
      },
      {
        name: "slow",
        collect: (signal) => {
          slowSignal = signal;
          return new Promise(() => {});
        },
      },
      { name: "extra", collect: async () => ({ temperatureC: 48.5 }) },
    ];
    const pending = collectStatus(collectors, { clock, timeoutMs: 2_000 });
    await clock.advance(2_000);
    const data = await pending;
    expect(data).toEqual({
      cpu: { cores: 4 },
      temperatureC: 48.5,
      errors: { broken: "sensor unplugged", slow: "timed out after 2000 ms" },
    });
    expect(slowSignal?.aborted).toBe(true);
  });
});

describe("SaveQueue", () => {
  it("serialises writes per key and coalesces bursts to the newest value", async () => {
    const writes: unknown[] = [];
    const storage = new MemoryStorage();
    const save = storage.save.bind(storage);
    storage.save = async (key, value) => {
      writes.push(value);
      await new Promise((r) => setImmediate(r));
      return save(key, value);
    };
    const queue = new SaveQueue(storage);
    const first = queue.save("k", () => 1);
    await Promise.resolve();
    await Promise.resolve(); // the first write is now in flight
    const rest = [2, 3, 4].map((v) => queue.save("k", () => v));
    await Promise.all([first, ...rest]);
    expect(writes).toEqual([1, 4]);
    expect(await storage.load("k")).toBe(4);
    await queue.save("k", () => undefined);
    expect(await storage.load("k")).toBeUndefined();
  });
});
