import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { describe, expect, it, vi } from "vitest";
import { SLOW_CONSUMER, SseStream } from "../src/http/sse-stream.js";

/** A response whose socket takes `room` bytes, then reports backpressure until `drain()`. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  buffered = 0;
  ended: string | undefined;
  destroyed = false;
  constructor(private readonly room: number) {
    super();
  }
  write(text: string): boolean {
    this.written.push(text);
    this.buffered += text.length;
    return this.buffered < this.room;
  }
  end(text?: string): void {
    this.ended = text ?? "";
  }
  destroy(): void {
    this.destroyed = true;
    this.emit("close");
  }
  /** The client read everything. */
  drain(): void {
    this.buffered = 0;
    this.emit("drain");
  }
}

const make = (room: number, maxBufferBytes: number, closeGraceMs = 60_000) => {
  const res = new FakeResponse(room);
  let slow = 0;
  const stream = new SseStream(
    res as unknown as ServerResponse,
    { maxBufferBytes, closeGraceMs },
    () => slow++,
  );
  return { res, stream, slow: () => slow };
};

describe("SseStream", () => {
  it("stops writing once write() returns false, queues, and sends the queue in order on drain", () => {
    const { res, stream } = make(10, 100);
    stream.write("aaaaaaaaaa"); // fills the socket: write() said false
    stream.write("b");
    stream.write("c");
    expect(res.written).toEqual(["aaaaaaaaaa"]);
    res.drain();
    expect(res.written).toEqual(["aaaaaaaaaa", "b", "c"]);
    stream.write("d");
    expect(res.written.at(-1)).toBe("d");
  });

  it("a client that does not read past the bound: ended with slow_consumer, queue dropped, then destroyed", () => {
    const { res, stream, slow } = make(10, 20, 0);
    stream.write("x".repeat(10));
    stream.write("y".repeat(15));
    stream.write("z".repeat(15)); // 30 > 20 queued
    expect(res.ended).toBe(SLOW_CONSUMER);
    expect(slow()).toBe(1);
    expect(stream.closed).toBe(true);
    res.drain();
    expect(res.written).toEqual(["x".repeat(10)]); // nothing queued was sent after the end
    stream.write("late");
    expect(res.written).toHaveLength(1);
  });

  it("destroys the socket when even the closing message does not leave within the grace", () => {
    vi.useFakeTimers();
    try {
      const { res, stream } = make(1, 1, 10);
      stream.write("x");
      stream.end("bye");
      vi.advanceTimersByTime(9);
      expect(res.destroyed).toBe(false);
      vi.advanceTimersByTime(1);
      expect(res.destroyed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
