import { describe, expect, it } from "vitest";
import { KeyedQueue } from "../src/util/keyed-queue.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("KeyedQueue", () => {
  it("runs one key's tasks one at a time in order, other keys meanwhile", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([
      queue.run("a", task("a1")),
      queue.run("a", task("a2")),
      queue.run("b", task("b1")),
    ]);
    expect(results).toEqual(["a1", "a2", "b1"]);
    expect(log.indexOf("a1 end")).toBeLessThan(log.indexOf("a2 start"));
    expect(log.indexOf("b1 start")).toBeLessThan(log.indexOf("a1 end"));
  });

  it("a rejected task rejects its caller and does not stop the next one", async () => {
    const queue = new KeyedQueue();
    const failed = queue.run("a", async () => {
      throw new Error("boom");
    });
    const next = queue.run("a", async () => "next");
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("next");
  });

  it("starts a task only after the current tick, and forgets a key once its queue is empty", async () => {
    const queue = new KeyedQueue();
    let started = false;
    const done = queue.run("a", async () => {
      started = true;
    });
    expect(started).toBe(false);
    expect(queue.size).toBe(1);
    await done;
    await tick();
    expect(queue.size).toBe(0);
  });
});
