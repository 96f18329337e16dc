import { ErrorCode } from "@cloudedge/protocol";
import { describe, expect, it, vi } from "vitest";
import { CommandFailedError, createMemoryStore, type Store } from "../src/index.js";
import { brokerClouds } from "./support/broker-clouds.js";
import { FakeDevice, hello, until } from "./support/fake-device.js";
import { ManualClock, settle } from "./support/manual-clock.js";

const clouds = brokerClouds();
const setup = clouds.make;

describe("commands to an online device", () => {
  it("walks QUEUED → SENT → DELIVERED → SUCCEEDED and call() returns the data", async () => {
    const { cloud, online } = await setup();
    const { device, conn } = await online();
    const statuses: string[] = [];
    cloud.events.on("event", (e) => e.type === "command" && statuses.push(e.command.status));
    const pending = cloud.broker.call(device.id, "system.ping", { n: 1 }, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    const cmd = conn.last("cmd")!;
    expect(cmd).toMatchObject({ method: "system.ping", params: { n: 1 }, timeoutMs: 5_000 });
    expect((await cloud.broker.get(cmd.id)).status).toBe("SENT");
    conn.sendPdu({ type: "ack", id: cmd.id });
    await until(() => statuses.includes("DELIVERED"), "DELIVERED");
    conn.sendPdu({ type: "result", id: cmd.id, ok: true, data: { pong: true } });
    await expect(pending).resolves.toEqual({ pong: true });
    expect(statuses).toEqual(["QUEUED", "SENT", "DELIVERED", "SUCCEEDED"]);
    const stored = await cloud.broker.get(cmd.id);
    expect(stored).toMatchObject({ status: "SUCCEEDED", result: { pong: true }, error: null, attempts: 1 });
  });

  it("the device's ack and result are recorded without reading the command first; a stale copy is read again", async () => {
    const store = createMemoryStore();
    const { cloud, online } = await setup({}, store);
    const { device, conn } = await online();
    const get = vi.spyOn(store.commands, "get");
    const sent = await cloud.broker.send(device.id, "system.ping", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    get.mockClear();
    conn.sendPdu({ type: "ack", id: sent.id });
    conn.sendPdu({ type: "result", id: sent.id, ok: true, data: 1 });
    expect((await cloud.broker.wait(sent.id, 5_000)).status).toBe("SUCCEEDED");
    expect(get.mock.calls).toEqual([[sent.id]]); // wait()'s own read only

    // Someone else (another node, an operator) changes the command behind this node's back:
    // the node's copy no longer matches, so the result is applied to what is stored now.
    const second = await cloud.broker.send(device.id, "system.ping", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 2, "second cmd");
    const stored = (await store.commands.get(second.id))!;
    await store.commands.transition(second.id, "SENT", {
      status: "DELIVERED",
      updatedAt: stored.updatedAt + 1,
    });
    conn.sendPdu({ type: "result", id: second.id, ok: true, data: 2 });
    expect(await cloud.broker.wait(second.id, 5_000)).toMatchObject({ status: "SUCCEEDED", result: 2 });
  });

  it("a device error fails the command with the device's code and message", async () => {
    const { cloud, online } = await setup();
    const { device, conn } = await online();
    const pending = cloud.broker.call(device.id, "nope", null);
    await until(() => conn.of("cmd").length === 1, "cmd");
    const id = conn.last("cmd")!.id;
    conn.sendPdu({
      type: "result",
      id,
      ok: false,
      error: { code: "method_not_found", message: "no executor for nope" },
    });
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({
      code: "device_error",
      status: 502,
      details: { deviceError: { code: "method_not_found" } },
    });
    expect((await cloud.broker.get(id)).status).toBe("FAILED");
  });

  it("times out with delivery_timeout when never acked and result_timeout when acked", async () => {
    const { cloud, online, clock } = await setup();
    const { device, conn } = await online();
    const never = await cloud.broker.send(device.id, "a", null, { timeoutMs: 2_000 });
    const acked = await cloud.broker.send(device.id, "b", null, { timeoutMs: 2_000 });
    await until(() => conn.of("cmd").length === 2, "cmds");
    conn.sendPdu({ type: "ack", id: acked.id });
    await settle();
    await clock.advance(3_000);
    expect(await cloud.broker.get(never.id)).toMatchObject({
      status: "TIMED_OUT",
      error: { code: "delivery_timeout" },
    });
    expect(await cloud.broker.get(acked.id)).toMatchObject({
      status: "TIMED_OUT",
      error: { code: "result_timeout" },
    });
    // A late result does not change the outcome.
    conn.sendPdu({ type: "result", id: acked.id, ok: true });
    await settle();
    expect((await cloud.broker.get(acked.id)).status).toBe("TIMED_OUT");
  });

  it("sendAndWait resolves with the command as it stands when its wait ends first", async () => {
    const { cloud, online, clock } = await setup();
    const { device, conn } = await online();
    const pending = cloud.broker.sendAndWait(device.id, "slow", null, { timeoutMs: 60_000, waitMs: 1_500 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    conn.sendPdu({ type: "ack", id: conn.last("cmd")!.id });
    await settle();
    await clock.advance(2_000);
    expect(await pending).toMatchObject({ id: conn.last("cmd")!.id, status: "DELIVERED" });
  });

  it("answers an ack or result for an unknown command with unknown_command", async () => {
    const { online } = await setup();
    const { conn } = await online();
    conn.sendPdu({ type: "ack", id: "nope-1" });
    await until(() => conn.of("error").length === 1, "error");
    expect(conn.last("error")).toMatchObject({ code: ErrorCode.UNKNOWN_COMMAND, ref: "nope-1" });
  });

  it("rejects another device's result as unknown", async () => {
    const { cloud, online } = await setup();
    const a = await online("a");
    const b = await online("b");
    const cmd = await cloud.broker.send(a.device.id, "x", null);
    b.conn.sendPdu({ type: "result", id: cmd.id, ok: true });
    await until(() => b.conn.of("error").length === 1, "error");
    expect((await cloud.broker.get(cmd.id)).status).toBe("SENT");
  });
});

describe("store work per command", () => {
  /** Counts the command reads and queue listings the broker makes. */
  function countReads(store: Store) {
    const get = vi.spyOn(store.commands, "get");
    const listQueued = vi.spyOn(store.commands, "listQueued");
    return () => ({ get: get.mock.calls.length, listQueued: listQueued.mock.calls.length });
  }

  it("once a session's queue was listed, new commands go out without listing it or reading them back", async () => {
    const store = createMemoryStore();
    const { cloud, online } = await setup({}, store);
    const reads = countReads(store);
    const { device, conn } = await online();
    await settle(5);
    expect(reads()).toEqual({ get: 0, listQueued: 1 }); // the listing when the session came online

    const sent = await cloud.broker.send(device.id, "a", null, { timeoutMs: 5_000 });
    expect(sent).toMatchObject({ status: "SENT", attempts: 1 }); // as the delivery wrote it
    const outcomes = [1, 2, 3].map((n) =>
      cloud.broker.sendAndWait(device.id, "b", { n }, { timeoutMs: 5_000 }),
    );
    await until(() => conn.of("cmd").length === 4, "cmds");
    expect(conn.of("cmd").map((c) => c.method)).toEqual(["a", "b", "b", "b"]);
    for (const cmd of conn.of("cmd")) {
      conn.sendPdu({ type: "ack", id: cmd.id });
      conn.sendPdu({ type: "result", id: cmd.id, ok: true, data: cmd.params ?? null });
    }
    const finals = await Promise.all(outcomes);
    expect(finals.map((c) => [c.status, c.result])).toEqual([
      ["SUCCEEDED", { n: 1 }],
      ["SUCCEEDED", { n: 2 }],
      ["SUCCEEDED", { n: 3 }],
    ]);
    expect(reads()).toEqual({ get: 0, listQueued: 1 });
    expect((await store.commands.get(sent.id))?.status).toBe("SUCCEEDED");
  });

  it("an ack and result that arrive together take one write (SENT → SUCCEEDED); an ack alone is recorded", async () => {
    const store = createMemoryStore();
    const { cloud, online } = await setup({}, store);
    const { device, conn } = await online();
    // Both kinds of write, in the order they happen.
    const writes: string[] = [];
    const create = store.commands.create.bind(store.commands);
    store.commands.create = (command) => {
      writes.push(`create ${command.status}`);
      return create(command);
    };
    const transition = store.commands.transition.bind(store.commands);
    store.commands.transition = (id, expected, patch, basis) => {
      writes.push(`${expected}→${patch.status}`);
      return transition(id, expected, patch, basis);
    };
    const statuses: string[] = [];
    cloud.events.on("event", (e) => e.type === "command" && statuses.push(e.command.status));

    const quick = cloud.broker.sendAndWait(device.id, "quick", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    const first = conn.last("cmd")!.id;
    conn.sendPdu({ type: "ack", id: first });
    conn.sendPdu({ type: "result", id: first, ok: true, data: 1 });
    expect(await quick).toMatchObject({ status: "SUCCEEDED", result: 1 });
    expect(writes).toEqual(["create SENT", "SENT→SUCCEEDED"]);
    expect(statuses).toEqual(["QUEUED", "SENT", "SUCCEEDED"]);

    writes.length = 0;
    statuses.length = 0;
    const slow = cloud.broker.sendAndWait(device.id, "slow", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 2, "second cmd");
    const second = conn.last("cmd")!.id;
    conn.sendPdu({ type: "ack", id: second });
    await until(() => statuses.includes("DELIVERED"), "DELIVERED");
    conn.sendPdu({ type: "result", id: second, ok: true, data: 2 });
    expect(await slow).toMatchObject({ status: "SUCCEEDED", result: 2 });
    expect(writes).toEqual(["create SENT", "SENT→DELIVERED", "DELIVERED→SUCCEEDED"]);
  });

  it("after a requeue anywhere in the cluster, the queue is listed again: the requeued command goes first", async () => {
    const store = createMemoryStore();
    const { cloud, online, clock } = await setup({}, store);
    const { device, conn } = await online();
    await settle(5);
    // Another node's session of this device ended with this command in flight: it put it
    // back in the queue and said so on the bus (its own deliver request is still on its way).
    const now = clock.now();
    const requeued = {
      id: "1000", // older than any id the broker makes
      deviceId: device.id,
      method: "older",
      params: null,
      status: "QUEUED" as const,
      result: null,
      error: null,
      timeoutMs: 60_000,
      expiresAt: null,
      deadline: now + 60_000,
      attempts: 1,
      acknowledgedAt: null,
      groupId: null,
      createdAt: now - 1_000,
      updatedAt: now,
    };
    await store.commands.create(requeued);
    const reads = countReads(store);
    await cloud.bus.publish({ type: "command", deviceId: device.id, at: now, command: requeued });

    const sent = await cloud.broker.send(device.id, "newer", null, { timeoutMs: 5_000 });
    expect(sent.status).toBe("SENT");
    await until(() => conn.of("cmd").length === 2, "cmds");
    expect(conn.of("cmd").map((c) => c.id)).toEqual([requeued.id, sent.id]);
    expect(reads().listQueued).toBe(1);
    expect((await store.commands.get(requeued.id))?.attempts).toBe(2);
  });

  it("a command the session cannot take is requeued, and the next delivery lists the queue again", async () => {
    const store = createMemoryStore();
    const { cloud, online } = await setup({}, store);
    const { device, conn } = await online();
    await settle(5);
    const reads = countReads(store);
    const send = cloud.hub.send.bind(cloud.hub);
    cloud.hub.send = () => false; // the socket refuses this one write
    const refused = await cloud.broker.send(device.id, "refused", null, { timeoutMs: 5_000 });
    expect(refused.status).toBe("QUEUED");
    cloud.hub.send = send;
    const next = await cloud.broker.send(device.id, "next", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 2, "cmds");
    expect(conn.of("cmd").map((c) => c.id)).toEqual([refused.id, next.id]);
    expect(reads().listQueued).toBe(1);
  });
});

describe("offline devices", () => {
  it("without a TTL, fails at once with device_offline; the command stays queryable", async () => {
    const { cloud } = await setup();
    const { device } = await cloud.devices.register({ name: "off" });
    const error = (await cloud.broker
      .send(device.id, "system.reboot", null)
      .catch((e: unknown) => e)) as CommandFailedError;
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error.code).toBe("device_offline");
    expect(await cloud.broker.get(error.command.id)).toMatchObject({
      status: "FAILED",
      error: { code: "device_offline" },
    });
  });

  it("with a TTL, stays QUEUED and is delivered when the device connects", async () => {
    const { cloud } = await setup();
    const { device, secret } = await cloud.devices.register({ name: "later" });
    const first = await cloud.broker.send(device.id, "one", null, { ttlMs: 60_000 });
    const second = await cloud.broker.send(device.id, "two", null, { ttlMs: 60_000 });
    expect(first.status).toBe("QUEUED");
    const conn = new FakeDevice(cloud.hub);
    conn.sendPdu(hello({ deviceId: device.id, secret }));
    await until(() => conn.of("cmd").length === 2, "queued commands");
    expect(conn.received.map((p) => p.type)).toEqual(["welcome", "cmd", "cmd"]);
    expect(conn.of("cmd").map((c) => c.id)).toEqual([first.id, second.id]);
  });

  it("expires a queued command when its TTL passes", async () => {
    const { cloud, clock } = await setup();
    const { device } = await cloud.devices.register({ name: "gone" });
    const queued = await cloud.broker.send(device.id, "x", null, { ttlMs: 5_000 });
    const waiting = cloud.broker.call(device.id, "y", null, { ttlMs: 5_000 }).catch((e: unknown) => e);
    await clock.advance(6_000);
    expect((await cloud.broker.get(queued.id)).status).toBe("EXPIRED");
    expect(await waiting).toMatchObject({ code: "command_expired" });
  });

  it("cancels a queued command; a sent one cannot be canceled", async () => {
    const { cloud, online } = await setup();
    const { device } = await cloud.devices.register({ name: "c" });
    const queued = await cloud.broker.send(device.id, "x", null, { ttlMs: 60_000 });
    expect((await cloud.broker.cancel(queued.id)).status).toBe("CANCELED");
    const live = await online("live");
    const sent = await cloud.broker.send(live.device.id, "x", null);
    await expect(cloud.broker.cancel(sent.id)).rejects.toMatchObject({ code: "not_cancelable", status: 409 });
  });
});

describe("redelivery", () => {
  it("requeues a command whose session was lost and redelivers it with the same deadline", async () => {
    const { cloud, online } = await setup();
    const { device, secret, conn } = await online();
    const cmd = await cloud.broker.send(device.id, "x", null, { timeoutMs: 60_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    conn.sendPdu({ type: "ack", id: cmd.id });
    const firstDeadline = conn.last("cmd")!.deadline;
    conn.hangUp(1006);
    await until(
      () => cloud.broker.get(cmd.id).then((c) => c.status === "QUEUED") as unknown as boolean,
      "requeue",
      100,
    ).catch(() => {});
    await settle(20);
    expect((await cloud.broker.get(cmd.id)).status).toBe("QUEUED");
    const again = new FakeDevice(cloud.hub);
    again.sendPdu(hello({ deviceId: device.id, secret }));
    await until(() => again.of("cmd").length === 1, "redelivery");
    expect(again.last("cmd")).toMatchObject({ id: cmd.id, deadline: firstDeadline });
    expect((await cloud.broker.get(cmd.id)).attempts).toBe(2);
  });
});

describe("restart recovery", () => {
  it("requeues in-flight commands, times out the overdue ones and expires stale queued ones", async () => {
    const store = createMemoryStore();
    const first = await setup({}, store);
    const { device, conn } = await first.online();
    const live = await first.cloud.broker.send(device.id, "live", null, { timeoutMs: 60_000 });
    const overdue = await first.cloud.broker.send(device.id, "overdue", null, { timeoutMs: 1_000 });
    const { device: offline } = await first.cloud.devices.register({ name: "off" });
    const stale = await first.cloud.broker.send(offline.id, "stale", null, { ttlMs: 1_000 });
    await until(() => conn.of("cmd").length === 2, "cmds");
    // The process dies: no shutdown, nothing flushed beyond what the store has.
    clouds.abandon(first.cloud);
    first.cloud.broker.close();

    // A new process on the same store, 5 s later: past the short deadline and TTL.
    const second = await setup({ clock: new ManualClock(first.clock.now() + 5_000) }, store);
    expect(second.recovered).toMatchObject({ requeued: 1, timedOut: 1, expired: 1 });
    expect((await second.cloud.broker.get(live.id)).status).toBe("QUEUED");
    expect((await second.cloud.broker.get(overdue.id)).status).toBe("TIMED_OUT");
    expect((await second.cloud.broker.get(stale.id)).status).toBe("EXPIRED");
    expect((await store.devices.get(device.id))?.online).toBe(false);
  });
});

describe("fan-out", () => {
  it("sends to every member with per-device ids and errors", async () => {
    const { cloud, online, store } = await setup();
    const a = await online("a");
    const b = await online("b");
    const { device: off } = await cloud.devices.register({ name: "off" });
    const group = await store.groups.create({ id: "77", name: "all", createdAt: 1 });
    for (const id of [a.device.id, b.device.id, off.id]) await store.groups.addDevice(group.id, id);
    const items = await cloud.broker.fanOut(group.id, "system.ping", {}, { concurrency: 2 });
    expect(items).toHaveLength(3);
    const byDevice = Object.fromEntries(items.map((i) => [i.deviceId, i]));
    expect(byDevice[a.device.id]).toMatchObject({ status: "SENT" });
    expect(byDevice[b.device.id]?.commandId).toBeTypeOf("string");
    expect(byDevice[off.id]).toMatchObject({ status: "FAILED", error: { code: "device_offline" } });
  });
});

describe("validation", () => {
  it.each([
    ["bad method", "rm -rf /", null, {}, "/method"],
    ["zero timeout", "x", null, { timeoutMs: 0 }, "/timeoutMs"],
    ["negative ttl", "x", null, { ttlMs: -1 }, "/ttlMs"],
  ])("%s → validation_failed on %s", async (_name, method, params, options, path) => {
    const { cloud, online } = await setup();
    const { device } = await online();
    const error = await cloud.broker.send(device.id, method, params, options).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "validation_failed", status: 400 });
    expect(JSON.stringify((error as { details: unknown }).details)).toContain(path);
  });

  it.each([
    ["a string too long", { blob: "x".repeat(300_000) }, "string_length", "/params/blob"],
    [
      "too many bytes for a frame",
      { a: "x".repeat(60_000), b: "x".repeat(60_000), c: "x".repeat(60_000), d: "é".repeat(60_000) },
      "bytes",
      "/params",
    ],
    ["nested too deep", JSON.parse(`${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`), "depth", "/params/a"],
  ])("params with %s → document_limit naming the limit", async (_name, params, limit, path) => {
    const { cloud, online } = await setup();
    const { device } = await online();
    const error = await cloud.broker.send(device.id, "x", params).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "document_limit", status: 400, details: { limit } });
    expect((error as { details: { fields: Array<{ path: string }> } }).details.fields[0]?.path).toMatch(
      new RegExp(`^${path}`),
    );
  });

  it("unknown device → device_not_found (404)", async () => {
    const { cloud } = await setup();
    await expect(cloud.broker.send("123", "x", null)).rejects.toMatchObject({
      code: "device_not_found",
      status: 404,
    });
  });
});
