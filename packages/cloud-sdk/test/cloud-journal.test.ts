import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryStore, type Store } from "../src/index.js";
import { makeCloud } from "./support/cloud-fixture.js";
import { until } from "./support/fake-device.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A memory store whose writes of buffered data (status, events, presence) fail while `down.value`. */
function outageStore(): { store: Store; down: { value: boolean } } {
  const store = createMemoryStore();
  const down = { value: false };
  const guard = <A extends unknown[]>(fn: (...args: A) => Promise<unknown>) =>
    (async (...args: A) => {
      if (down.value) throw new Error("connect ECONNREFUSED");
      return fn(...args);
    }) as never;
  store.status.insertBatch = guard(store.status.insertBatch.bind(store.status));
  store.events.append = guard(store.events.append.bind(store.events));
  store.devices.setPresence = guard(store.devices.setPresence.bind(store.devices));
  return { store, down };
}

describe("Cloud with a journal", () => {
  it("a shutdown during an outage journals status, events and presence; the next start replays them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cloudedge-cloud-journal-"));
    dirs.push(dir);
    const journalPath = join(dir, "journal-node.log");
    const { store, down } = outageStore();
    const first = await makeCloud({ journalPath }, store);
    const { device, conn } = await first.online();
    await first.cloud.eventLog.flush();
    down.value = true;
    for (let ts = 1; ts <= 5; ts++) conn.sendPdu({ type: "status", ts, data: { n: ts } });
    await until(() => first.cloud.status.writer.size === 5, "reports buffered");
    const report = await first.cloud.close({ graceMs: 0, flushGraceMs: 50 });
    // 5 reports; the disconnect event; the offline presence write.
    expect(report).toEqual({
      journaled: { status: 5, event: 1, presence: 1 },
      lost: { status: 0, event: 0, presence: 0 },
    });

    down.value = false;
    const second = await makeCloud({ journalPath }, store);
    expect(second.recovered.replayed).toEqual({ status: 5, event: 1, presence: 1 });
    expect((await store.status.history(device.id)).map((s) => s.ts)).toEqual([5, 4, 3, 2, 1]);
    const events = (await store.events.list(device.id)).items;
    expect(events.filter((e) => e.kind === "disconnected")).toEqual([
      expect.objectContaining({ reason: "server_shutdown" }),
    ]);
    expect((await store.devices.get(device.id))?.online).toBe(false);
    await second.cloud.close({ graceMs: 0 });
  });

  it("presence writes the store refused are retried in order: the offline write lands after its online one", async () => {
    const { store, down } = outageStore();
    const { cloud, clock, online } = await makeCloud({}, store);
    down.value = true;
    const { device, conn } = await online();
    conn.hangUp();
    await until(() => cloud.hub.session(device.id) === undefined, "session gone");
    down.value = false;
    await clock.advance(1_000); // the backlog's retry tick
    await expect
      .poll(async () => await store.devices.get(device.id))
      .toMatchObject({ online: false, connectedAt: expect.any(Number) });
    await cloud.close({ graceMs: 0 });
  });

  it("without a journal, what the grace period left is reported lost", async () => {
    const { store, down } = outageStore();
    const { cloud, online } = await makeCloud({}, store);
    const { conn } = await online();
    await cloud.eventLog.flush();
    down.value = true;
    conn.sendPdu({ type: "status", ts: 1, data: {} });
    await until(() => cloud.status.writer.size === 1, "report buffered");
    expect((await cloud.close({ graceMs: 0, flushGraceMs: 20 })).lost).toEqual({
      status: 1,
      event: 1,
      presence: 1,
    });
  });
});
