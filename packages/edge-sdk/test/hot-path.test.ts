import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonValue } from "@cloudedge/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { EdgeClient } from "../src/edge-client.js";
import { createRotatingLog } from "../src/node/rotating-log.js";
import { MemoryStorage } from "../src/storage.js";
import { harness } from "./support/client-harness.js";
import { settle } from "./support/manual-clock.js";

/** A storage that counts writes per key. */
class SpyStorage extends MemoryStorage {
  readonly writes: string[] = [];
  override async save(key: string, value: JsonValue): Promise<void> {
    this.writes.push(key);
    return super.save(key, value);
  }
}

const clients: EdgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  vi.restoreAllMocks();
});

describe("the hot path writes nothing per heartbeat or status report while online", () => {
  it("60 heartbeats with pongs and 60 status reports: no storage write after welcome", async () => {
    const storage = new SpyStorage();
    const h = harness({
      storage,
      statusIntervalMs: 1_000,
      collectors: [{ name: "fake", collect: () => ({ uptimeS: 1 }) }],
    });
    clients.push(h.client);
    const socket = await h.connect({ heartbeatMs: 1_000 });
    await settle();
    const afterWelcome = storage.writes.length;
    for (let i = 0; i < 60; i++) {
      await h.clock.advance(1_000);
      const ping = socket.of("ping").at(-1);
      if (ping) socket.deliver({ type: "pong", seq: ping.seq, serverTime: h.clock.now() });
    }
    expect(socket.of("ping").length).toBeGreaterThanOrEqual(59);
    expect(socket.of("status").length).toBeGreaterThanOrEqual(59);
    expect(h.client.online).toBe(true);
    expect(storage.writes.slice(afterWelcome)).toEqual([]);
  });
});

describe("the rotating log", () => {
  it("does not fsync per line at info level", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edge-log-"));
    const fsync = vi.spyOn(fs, "fsync");
    const fsyncSync = vi.spyOn(fs, "fsyncSync");
    const log = await createRotatingLog({ dir, level: "info" });
    for (let i = 0; i < 200; i++) log.logger.info({ i }, "a line");
    await log.flush();
    expect(fsync).not.toHaveBeenCalled();
    expect(fsyncSync).not.toHaveBeenCalled();
    await log.close();
    const text = fs.readFileSync(log.currentFile(), "utf8");
    expect(text.trim().split("\n")).toHaveLength(200);
    await rm(dir, { recursive: true, force: true });
  });
});
