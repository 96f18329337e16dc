import { describe, expect, it } from "vitest";
import { type DeadlineFields, overdue, timeoutError } from "../src/broker/command-deadlines.js";
import { brokerClouds } from "./support/broker-clouds.js";
import { FakeDevice, hello, until } from "./support/fake-device.js";
import { settle } from "./support/manual-clock.js";

const NOW = 10_000;
const base: DeadlineFields = { status: "QUEUED", attempts: 0, deadline: null, expiresAt: null };

describe("overdue(command, now)", () => {
  it.each<[string, Partial<DeadlineFields>, ReturnType<typeof overdue>]>([
    ["queued, no TTL", {}, undefined],
    ["queued, TTL ahead", { expiresAt: NOW + 1 }, undefined],
    ["queued, TTL reached", { expiresAt: NOW }, "expire"],
    ["queued, TTL passed", { expiresAt: NOW - 1 }, "expire"],
    // A requeued command was sent once: its deadline governs, not its TTL.
    [
      "requeued, TTL passed, deadline ahead",
      { attempts: 1, expiresAt: NOW - 1, deadline: NOW + 1 },
      undefined,
    ],
    ["requeued, deadline passed", { attempts: 1, expiresAt: NOW + 1, deadline: NOW - 1 }, "timeout"],
    ["sent, deadline ahead", { status: "SENT", attempts: 1, deadline: NOW + 1 }, undefined],
    ["sent, deadline reached", { status: "SENT", attempts: 1, deadline: NOW }, "timeout"],
    [
      "sent, TTL passed (never expires once sent)",
      { status: "SENT", expiresAt: NOW - 1, deadline: NOW + 1 },
      undefined,
    ],
    ["delivered, deadline passed", { status: "DELIVERED", attempts: 2, deadline: NOW - 1 }, "timeout"],
    [
      "deadline and TTL both passed: the deadline first",
      { deadline: NOW - 1, expiresAt: NOW - 1 },
      "timeout",
    ],
  ])("%s → %s", (_name, fields, verdict) => {
    expect(overdue({ ...base, ...fields }, NOW)).toBe(verdict);
  });
});

describe("timeoutError: one definition of the timeout codes across attempts (§6.1)", () => {
  it.each<[string, Pick<Parameters<typeof timeoutError>[0], "status" | "acknowledgedAt">, string]>([
    ["sent, never acknowledged", { status: "SENT", acknowledgedAt: null }, "delivery_timeout"],
    ["requeued, never acknowledged", { status: "QUEUED", acknowledgedAt: null }, "delivery_timeout"],
    ["delivered", { status: "DELIVERED", acknowledgedAt: 5 }, "result_timeout"],
    ["acknowledged, then requeued", { status: "QUEUED", acknowledgedAt: 5 }, "result_timeout"],
    ["acknowledged, requeued and sent again", { status: "SENT", acknowledgedAt: 5 }, "result_timeout"],
  ])("%s → %s", (_name, fields, code) => {
    expect(timeoutError(fields).code).toBe(code);
  });
});

describe("timeouts after a requeue (broker, manual clock)", () => {
  const clouds = brokerClouds();

  it("acknowledged, then requeued when the link dropped: result_timeout; never acknowledged: delivery_timeout", async () => {
    const { cloud, online, clock } = await clouds.make();
    const { device, secret, conn } = await online();
    const acked = await cloud.broker.send(device.id, "a", null, { timeoutMs: 5_000 });
    const unacked = await cloud.broker.send(device.id, "b", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 2, "cmds");
    conn.sendPdu({ type: "ack", id: acked.id });
    await settle();
    const first = await cloud.broker.get(acked.id);
    expect(first).toMatchObject({ status: "DELIVERED", acknowledgedAt: clock.now() });
    conn.hangUp(1006);
    await settle(20);
    expect(await cloud.broker.get(acked.id)).toMatchObject({
      status: "QUEUED",
      acknowledgedAt: first.acknowledgedAt,
    });
    expect(await cloud.broker.get(unacked.id)).toMatchObject({ status: "QUEUED", acknowledgedAt: null });

    // The device comes back and gets both again, but answers neither before the deadline.
    const again = new FakeDevice(cloud.hub);
    again.sendPdu(hello({ deviceId: device.id, secret }));
    await until(() => again.of("cmd").length === 2, "redelivery");
    expect((await cloud.broker.get(acked.id)).status).toBe("SENT");
    await clock.advance(6_000);
    expect(await cloud.broker.get(acked.id)).toMatchObject({
      status: "TIMED_OUT",
      attempts: 2,
      error: { code: "result_timeout", message: "no result before the deadline" },
    });
    expect(await cloud.broker.get(unacked.id)).toMatchObject({
      status: "TIMED_OUT",
      error: { code: "delivery_timeout", message: "no acknowledgement before the deadline" },
    });
  });

  it("acknowledged, requeued and the device stays away: result_timeout from QUEUED", async () => {
    const { cloud, online, clock } = await clouds.make();
    const { device, conn } = await online();
    const cmd = await cloud.broker.send(device.id, "a", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    conn.sendPdu({ type: "ack", id: cmd.id });
    await settle();
    conn.hangUp(1006);
    await settle(20);
    await clock.advance(6_000);
    expect(await cloud.broker.get(cmd.id)).toMatchObject({
      status: "TIMED_OUT",
      error: { code: "result_timeout" },
    });
  });
});
