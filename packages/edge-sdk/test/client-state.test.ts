import { afterEach, describe, expect, it } from "vitest";
import type { EdgeClient } from "../src/edge-client.js";
import { DesiredState, ReportedState } from "../src/state-sync.js";
import { MemoryStorage } from "../src/storage.js";
import { harness } from "./support/client-harness.js";
import { settle } from "./support/manual-clock.js";

const clients: EdgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function setup(options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  clients.push(h.client);
  return h;
}

describe("DesiredState rules (docs/protocol.md §6.3)", () => {
  const table: Array<
    [string, { version: number; patch: Record<string, unknown>; full?: boolean }, string, number]
  > = [
    ["next version patches", { version: 4, patch: { b: 2 } }, "applied", 4],
    ["same version is stale", { version: 3, patch: { b: 2 } }, "stale", 3],
    ["older version is stale", { version: 1, patch: { b: 2 } }, "stale", 3],
    ["a gap is not applied", { version: 5, patch: { b: 2 } }, "gap", 3],
    ["full replaces across a gap", { version: 9, patch: { z: 1 }, full: true }, "applied", 9],
  ];
  for (const [name, pdu, kind, version] of table) {
    it(name, () => {
      const state = new DesiredState();
      state.version = 3;
      state.document = { a: 1 };
      expect(state.apply({ type: "desired", ...pdu }).kind).toBe(kind);
      expect(state.version).toBe(version);
    });
  }

  it("welcome.desired is authoritative even when lower", () => {
    const state = new DesiredState();
    state.version = 10;
    state.document = { old: true };
    state.applyWelcome({ version: 2, patch: { fresh: true }, full: true });
    expect(state).toMatchObject({ version: 2, document: { fresh: true } });
  });
});

describe("ReportedState", () => {
  it("sends only what changed and nothing for no-ops", () => {
    const state = new ReportedState();
    expect(state.change({ a: 1, b: { c: 2 } })).toEqual({
      type: "reported",
      version: 1,
      patch: { a: 1, b: { c: 2 } },
    });
    expect(state.change({ a: 1 })).toBeUndefined();
    expect(state.change({ b: { c: 3 }, a: null })).toEqual({
      type: "reported",
      version: 2,
      patch: { a: null, b: { c: 3 } },
    });
    expect(state.document).toEqual({ b: { c: 3 } });
  });

  it("resyncs with the whole document as hub+1 when versions differ", () => {
    const state = new ReportedState();
    state.change({ a: 1 });
    state.change({ a: 2 });
    expect(state.resync(2)).toBeUndefined();
    expect(state.resync(7)).toEqual({ type: "reported", version: 8, patch: { a: 2 }, full: true });
    expect(state.version).toBe(8);
  });
});

describe("EdgeClient desired state", () => {
  it("delivers desired patches to handlers in version order and persists the applied version", async () => {
    const h = setup();
    const seen: Array<[number, unknown]> = [];
    h.client.onDesired(async (change) => {
      await new Promise((r) => setImmediate(r)); // a slow handler must not reorder
      seen.push([change.version, change.document]);
    });
    const socket = await h.connect({ desired: { version: 3, patch: { logLevel: "info" }, full: true } });
    socket.deliver({ type: "desired", version: 4, patch: { statusIntervalMs: 5000 } });
    socket.deliver({ type: "desired", version: 4, patch: { ignored: true } });
    socket.deliver({ type: "desired", version: 5, patch: { logLevel: "debug" } });
    await settle();
    expect(seen).toEqual([
      [3, { logLevel: "info" }],
      [4, { logLevel: "info", statusIntervalMs: 5000 }],
      [5, { logLevel: "debug", statusIntervalMs: 5000 }],
    ]);
    expect(await h.storage.load("desired")).toEqual({
      version: 5,
      document: { logLevel: "debug", statusIntervalMs: 5000 },
    });
  });

  it("on a version gap closes and reconnects, announcing the applied version", async () => {
    const h = setup({ random: () => 0 });
    const socket = await h.connect({ desired: { version: 3, patch: { a: 1 }, full: true } });
    socket.deliver({ type: "desired", version: 5, patch: { a: 2 } });
    await settle();
    expect(socket.closedWith).toEqual({ code: 1000, reason: "resync" });
    expect(h.client.desired).toEqual({ version: 3, document: { a: 1 } });
    await h.clock.advance(0);
    h.net.last().open();
    expect(h.net.last().of("hello")[0]).toMatchObject({ desiredVersion: 3 });
  });

  it("a restarted client sends its persisted desiredVersion", async () => {
    const storage = new MemoryStorage();
    const a = setup({ storage });
    await a.connect({ desired: { version: 12, patch: { x: 1 }, full: true } });
    await a.client.close();
    const b = setup({ storage });
    await b.client.start();
    b.net.last().open();
    expect(b.net.last().of("hello")[0]).toMatchObject({ desiredVersion: 12 });
    expect(b.client.desired.document).toEqual({ x: 1 });
  });

  it("a failing handler surfaces an error event and later changes still arrive", async () => {
    const h = setup();
    const errors: string[] = [];
    h.client.on("error", (e) => errors.push(e.code));
    const versions: number[] = [];
    h.client.onDesired((c) => {
      versions.push(c.version);
      if (c.version === 1) throw new Error("boom");
    });
    const socket = await h.connect();
    socket.deliver({ type: "desired", version: 1, patch: { a: 1 } });
    socket.deliver({ type: "desired", version: 2, patch: { a: 2 } });
    await settle();
    expect(versions).toEqual([1, 2]);
    expect(errors).toEqual(["desired_handler_failed"]);
  });
});

describe("EdgeClient reported state", () => {
  it("sends versioned diffs while online and resyncs in full after offline changes", async () => {
    const h = setup({ random: () => 0 });
    const s1 = await h.connect({ reportedVersion: 0 });
    await h.client.reportState({ logLevel: "info", statusIntervalMs: 15000 });
    await h.client.reportState({ logLevel: "info" });
    await h.client.reportState({ logLevel: "debug" });
    expect(s1.of("reported")).toMatchObject([
      { version: 1, patch: { logLevel: "info", statusIntervalMs: 15000 } },
      { version: 2, patch: { logLevel: "debug" } },
    ]);
    s1.serverClose(1006, "");
    await settle();
    await h.client.reportState({ statusIntervalMs: null });
    expect(h.client.reported.version).toBe(3);
    await h.clock.advance(0);
    const s2 = await h.accept({ reportedVersion: 2 });
    expect(s2.of("reported")).toEqual([
      { type: "reported", version: 3, patch: { logLevel: "debug" }, full: true, ts: h.clock.now() },
    ]);
  });

  it("answers version_gap with the whole document", async () => {
    const h = setup();
    const socket = await h.connect({ reportedVersion: 0 });
    await h.client.reportState({ a: 1 });
    socket.deliver({ type: "error", code: "version_gap", message: "gap" });
    await settle();
    expect(socket.of("reported").at(-1)).toMatchObject({ version: 2, patch: { a: 1 }, full: true });
  });

  it("sends nothing when in sync at welcome", async () => {
    const h = setup();
    const socket = await h.connect({ reportedVersion: 0 });
    expect(socket.of("reported")).toEqual([]);
  });
});
