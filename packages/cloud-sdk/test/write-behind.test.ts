import { describe, expect, it } from "vitest";
import { WriteBehind } from "../src/index.js";
import { ManualClock } from "./support/manual-clock.js";

describe("WriteBehind", () => {
  it("writes in bounded batches (4 × batchSize) until drained", async () => {
    const batches: number[] = [];
    const writer = new WriteBehind<number>({
      write: async (b) => void batches.push(b.length),
      batchSize: 10,
      clock: new ManualClock(),
    });
    for (let i = 0; i < 95; i++) (writer as unknown as { pending: number[] }).pending.push(i);
    await writer.flush();
    expect(batches).toEqual([40, 40, 15]);
    expect(writer.written).toBe(95);
    await writer.close();
  });

  it("keeps a failed batch, in order, for the next attempt, and drops the oldest past maxPending", async () => {
    let fail = true;
    const seen: number[][] = [];
    const writer = new WriteBehind<number>({
      write: async (b) => {
        if (fail) throw new Error("store down");
        seen.push([...b]);
      },
      batchSize: 100,
      maxPending: 5,
      clock: new ManualClock(),
    });
    for (let i = 1; i <= 3; i++) writer.push(i);
    await writer.flush();
    expect(writer.size).toBe(3);
    for (let i = 4; i <= 7; i++) writer.push(i);
    expect(writer.dropped).toBe(2);
    fail = false;
    await writer.flush();
    expect(seen).toEqual([[3, 4, 5, 6, 7]]);
    await writer.close();
  });

  it("counts the batch being written as pending until it is written (the status_pending gauge)", async () => {
    let finish: (ok: boolean) => void = () => undefined;
    const batches: number[] = [];
    const writer = new WriteBehind<number>({
      write: (b) =>
        new Promise<void>((resolve, reject) => {
          batches.push(b.length);
          finish = (ok) => (ok ? resolve() : reject(new Error("store down")));
        }),
      batchSize: 1000,
      clock: new ManualClock(),
    });
    for (let i = 0; i < 800; i++) (writer as unknown as { pending: number[] }).pending.push(i);
    const first = writer.flush();
    // All 800 are in the one batch on its way to a store that does not answer.
    expect(writer.size).toBe(800);
    writer.push(800);
    expect(writer.size).toBe(801);
    finish(false);
    await first;
    expect(writer.size).toBe(801);
    const second = writer.flush();
    finish(true);
    await second;
    expect(writer.size).toBe(0);
    expect(batches).toEqual([800, 801]);
    expect(writer.written).toBe(801);
    await writer.close();
  });
});
