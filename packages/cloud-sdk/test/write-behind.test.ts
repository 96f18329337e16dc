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
});
