import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  createMemoryStore,
  type DeviceEvent,
  encodeRecord,
  JournalFile,
  type Logger,
  type StatusRecord,
  type Store,
  WriteBehind,
  WriteJournal,
} from "../src/index.js";
import { ManualClock } from "./support/manual-clock.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function journalPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "cloudedge-journal-"));
  dirs.push(dir);
  return join(dir, "data", "journal-node-1.log");
}
function recordingLogger() {
  const warnings: Array<Record<string, unknown>> = [];
  const noop = () => {};
  const logger: Logger = {
    debug: noop,
    info: noop,
    error: noop,
    warn: (fields) => void warnings.push(fields),
  };
  return { logger, warnings };
}
async function storeWithDevice(): Promise<{ store: Store; deviceId: string }> {
  const store = createMemoryStore();
  const device = await store.devices.create({ id: "1000", name: "d", secretHash: "x", createdAt: 1 });
  return { store, deviceId: device.id };
}
const status = (deviceId: string, ts: number): StatusRecord => ({
  deviceId,
  ts,
  receivedAt: ts,
  data: { n: ts },
});
const event = (deviceId: string, id: string): DeviceEvent => ({
  id,
  deviceId,
  ts: 5,
  kind: "connected",
  reason: "connected",
  data: null,
});

describe("JournalFile", () => {
  it("round-trips records across appends and a reopen", () => {
    const path = journalPath();
    const file = new JournalFile<{ n: number; s: string }>(path);
    file.append([{ n: 1, s: "ä" }]);
    file.append([
      { n: 2, s: "b" },
      { n: 3, s: "c" },
    ]);
    file.close();
    expect(new JournalFile(path).read()).toEqual({
      records: [
        { n: 1, s: "ä" },
        { n: 2, s: "b" },
        { n: 3, s: "c" },
      ],
      skippedBytes: 0,
    });
  });

  it("skips a torn tail (a write cut by a crash) and keeps every record before it", () => {
    const path = journalPath();
    const file = new JournalFile<{ n: number }>(path);
    file.append([{ n: 1 }, { n: 2 }]);
    file.close();
    const torn = encodeRecord({ n: 3 });
    for (const cut of [3, 8, torn.length - 1]) {
      const copy = `${path}.${cut}`;
      copyFileSync(path, copy);
      appendFileSync(copy, torn.subarray(0, cut));
      expect(new JournalFile(copy).read()).toEqual({
        records: [{ n: 1 }, { n: 2 }],
        skippedBytes: cut,
        problem: "torn",
      });
    }
  });

  it("stops at a record whose checksum fails, and at an absurd length", () => {
    const path = journalPath();
    const file = new JournalFile<{ n: number }>(path);
    file.append([{ n: 1 }, { n: 2 }, { n: 3 }]);
    file.close();
    const bytes = readFileSync(path);
    const second = encodeRecord({ n: 1 }).length;
    const flipped = Buffer.from(bytes);
    flipped[second + 8 + 2] = (flipped[second + 8 + 2] as number) ^ 0xff; // inside record 2's payload
    writeFileSync(path, flipped);
    expect(new JournalFile(path).read()).toMatchObject({
      records: [{ n: 1 }],
      skippedBytes: bytes.length - second,
      problem: "checksum",
    });
    const huge = Buffer.from(bytes);
    huge.writeUInt32LE(0xffffffff, 0);
    writeFileSync(path, huge);
    expect(new JournalFile(path).read()).toMatchObject({ records: [], problem: "length" });
  });
});

describe("WriteJournal", () => {
  it("replays status reports, events and presence into the store, then empties itself", async () => {
    const path = journalPath();
    const { store, deviceId } = await storeWithDevice();
    const journal = new WriteJournal(path);
    journal.spill("status").save([status(deviceId, 10), status(deviceId, 20)]);
    journal.spill("event").save([event(deviceId, "5000")]);
    journal.spill("presence").save([
      { op: "presence", deviceId, write: { online: true, connectedAt: 7, lastSeenAt: 7 } },
      { op: "presence", deviceId, write: { online: false, lastSeenAt: 9, ifConnectedAt: 7 } },
    ]);
    journal.close();

    const counts = await new WriteJournal(path).replay(store);
    expect(counts).toEqual({ status: 2, event: 1, presence: 2 });
    expect((await store.status.history(deviceId)).map((s) => s.ts)).toEqual([20, 10]);
    expect((await store.status.latest(deviceId))?.ts).toBe(20);
    expect((await store.events.list(deviceId)).items.map((e) => e.id)).toEqual(["5000"]);
    expect(await store.devices.get(deviceId)).toMatchObject({ online: false, connectedAt: 7, lastSeenAt: 9 });
    expect(new JournalFile(path).read().records).toEqual([]);
    expect(await new WriteJournal(path).replay(store)).toEqual({ status: 0, event: 0, presence: 0 });
  });

  it("replaying the same journal twice (a crash during replay) duplicates nothing", async () => {
    const path = journalPath();
    const { store, deviceId } = await storeWithDevice();
    const journal = new WriteJournal(path);
    journal.spill("status").save([status(deviceId, 10), status(deviceId, 20)]);
    journal.spill("event").save([event(deviceId, "5000"), event(deviceId, "5001")]);
    journal.close();
    copyFileSync(path, `${path}.copy`);
    await new WriteJournal(path).replay(store);
    copyFileSync(`${path}.copy`, path);
    await new WriteJournal(path).replay(store);
    expect(await store.status.history(deviceId)).toHaveLength(2);
    expect((await store.events.list(deviceId)).items).toHaveLength(2);
  });

  it("a replayed online write never overwrites a newer session stored since", async () => {
    const path = journalPath();
    const { store, deviceId } = await storeWithDevice();
    await store.devices.setPresence(deviceId, { online: true, connectedAt: 100, lastSeenAt: 100 });
    const journal = new WriteJournal(path);
    journal.spill("presence").save([
      { op: "presence", deviceId, write: { online: true, connectedAt: 7, lastSeenAt: 7 } },
      { op: "presence", deviceId, write: { online: false, lastSeenAt: 9, ifConnectedAt: 7 } },
    ]);
    await new WriteJournal(path).replay(store);
    expect(await store.devices.get(deviceId)).toMatchObject({ online: true, connectedAt: 100 });
  });

  it("replays the intact records of a journal with a torn tail, with a warning", async () => {
    const path = journalPath();
    const { store, deviceId } = await storeWithDevice();
    const journal = new WriteJournal(path);
    journal.spill("status").save([status(deviceId, 10)]);
    journal.close();
    appendFileSync(path, encodeRecord({ kind: "status", item: status(deviceId, 20) }).subarray(0, 12));
    const { logger, warnings } = recordingLogger();
    expect(await new WriteJournal(path, logger).replay(store)).toMatchObject({ status: 1 });
    expect(warnings).toEqual([expect.objectContaining({ problem: "torn", skippedBytes: 12, intact: 1 })]);
    expect(await store.status.history(deviceId)).toHaveLength(1);
  });

  it("keeps the journal when the store refuses the replay", async () => {
    const path = journalPath();
    const { store, deviceId } = await storeWithDevice();
    const journal = new WriteJournal(path);
    journal.spill("status").save([status(deviceId, 10)]);
    journal.close();
    await store.close();
    await expect(new WriteJournal(path).replay(store)).rejects.toThrow();
    expect(new JournalFile(path).read().records).toHaveLength(1);
  });
});

describe("WriteBehind with a journal", () => {
  it("journals a batch the store refused at once, and empties the journal once it is written", async () => {
    const path = journalPath();
    const journal = new WriteJournal(path);
    let down = true;
    const writer = new WriteBehind<StatusRecord>({
      write: async () => {
        if (down) throw new Error("store down");
      },
      spill: journal.spill("status"),
      clock: new ManualClock(),
    });
    writer.push(status("1", 1));
    writer.push(status("1", 2));
    await writer.flush();
    await writer.flush(); // a second failure journals nothing twice
    expect(new JournalFile(path).read().records).toHaveLength(2);
    writer.push(status("1", 3));
    down = false;
    await writer.flush();
    expect(new JournalFile(path).read().records).toEqual([]);
    expect(await writer.close()).toEqual({ lost: 0, journaled: 0 });
  });

  it("at close, journals what the grace period left, a hung write included", async () => {
    const path = journalPath();
    const journal = new WriteJournal(path);
    const writer = new WriteBehind<StatusRecord>({
      write: () => new Promise<void>(() => {}), // a database stopped with SIGSTOP
      spill: journal.spill("status"),
      clock: new ManualClock(),
    });
    writer.push(status("1", 1));
    void writer.flush();
    writer.push(status("1", 2));
    expect(await writer.close(50)).toEqual({ lost: 0, journaled: 2 });
    expect(new JournalFile<{ item: StatusRecord }>(path).read().records.map((r) => r.item.ts)).toEqual([
      1, 2,
    ]);
  });

  it("counts what neither the store nor the journal took as lost", async () => {
    const writer = new WriteBehind<number>({
      write: async () => {
        throw new Error("store down");
      },
      spill: {
        save: () => {
          throw new Error("ENOSPC");
        },
        settle: () => {},
      },
      clock: new ManualClock(),
    });
    for (let i = 0; i < 3; i++) writer.push(i);
    expect(await writer.close(20)).toEqual({ lost: 3, journaled: 0 });
  });
});
