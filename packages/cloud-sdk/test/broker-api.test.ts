import { describe, expect, it } from "vitest";
import { CommandFailedError, CommandWaitTimeoutError } from "../src/index.js";
import { brokerClouds } from "./support/broker-clouds.js";
import { until } from "./support/fake-device.js";
import { settle } from "./support/manual-clock.js";

const clouds = brokerClouds();

describe("a device's commands (get, cancel, list by device)", () => {
  it("get and cancel by device: another device's command is not found", async () => {
    const { cloud } = await clouds.make();
    const { device: mine } = await cloud.devices.register({ name: "mine" });
    const { device: other } = await cloud.devices.register({ name: "other" });
    const queued = await cloud.broker.send(mine.id, "x", null, { ttlMs: 60_000 });

    expect(await cloud.broker.get(mine.id, queued.id)).toMatchObject({ id: queued.id, status: "QUEUED" });
    const notFound = { code: "command_not_found", status: 404 };
    await expect(cloud.broker.get(other.id, queued.id)).rejects.toMatchObject(notFound);
    await expect(cloud.broker.cancel(other.id, queued.id)).rejects.toMatchObject(notFound);
    expect((await cloud.broker.get(queued.id)).status).toBe("QUEUED"); // untouched
    expect(await cloud.broker.cancel(mine.id, queued.id)).toMatchObject({ status: "CANCELED" });
    await expect(cloud.broker.cancel(mine.id, queued.id)).rejects.toMatchObject({
      code: "not_cancelable",
      details: { commandStatus: "CANCELED" },
    });
  });

  it("list refuses an unknown device with device_not_found", async () => {
    const { cloud } = await clouds.make();
    const { device } = await cloud.devices.register({ name: "d" });
    const queued = await cloud.broker.send(device.id, "x", null, { ttlMs: 60_000 });
    expect((await cloud.broker.list(device.id)).items.map((c) => c.id)).toEqual([queued.id]);
    await expect(cloud.broker.list("4242")).rejects.toMatchObject({ code: "device_not_found", status: 404 });
  });
});

describe("execute: send and wait, for callers that answer with the command", () => {
  it("resolves with an ended command, a device's failure included", async () => {
    const { cloud, online } = await clouds.make();
    const { device, conn } = await online();
    const pending = cloud.broker.execute(device.id, "nope", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    conn.sendPdu({
      type: "result",
      id: conn.last("cmd")!.id,
      ok: false,
      error: { code: "boom", message: "no" },
    });
    expect(await pending).toMatchObject({ status: "FAILED", error: { code: "boom" } });
  });

  it("a wait that ends first → CommandWaitTimeoutError (504) with the command id and status", async () => {
    const { cloud, online, clock } = await clouds.make();
    const { device, conn } = await online();
    const pending = cloud.broker
      .execute(device.id, "slow", null, { timeoutMs: 60_000, waitMs: 1_000 })
      .catch((e: unknown) => e);
    await until(() => conn.of("cmd").length === 1, "cmd");
    const id = conn.last("cmd")!.id;
    conn.sendPdu({ type: "ack", id });
    await settle();
    await clock.advance(1_500);
    const error = (await pending) as CommandWaitTimeoutError;
    expect(error).toBeInstanceOf(CommandWaitTimeoutError);
    expect(error).toMatchObject({
      code: "result_timeout",
      status: 504,
      message: "no outcome before the deadline",
      details: { commandId: id, commandStatus: "DELIVERED" },
      command: { id, status: "DELIVERED" },
    });
  });

  it("a command that timed out → its CommandFailedError (504 delivery_timeout)", async () => {
    const { cloud, online, clock } = await clouds.make();
    const { device, conn } = await online();
    const pending = cloud.broker
      .execute(device.id, "silent", null, { timeoutMs: 1_000 })
      .catch((e: unknown) => e);
    await until(() => conn.of("cmd").length === 1, "cmd");
    await clock.advance(1_500);
    const error = (await pending) as CommandFailedError;
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).not.toBeInstanceOf(CommandWaitTimeoutError);
    expect(error).toMatchObject({ code: "delivery_timeout", status: 504, command: { status: "TIMED_OUT" } });
  });
});
