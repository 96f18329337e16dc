import { describe, expect, it } from "vitest";
import type { NewJobInput } from "../src/index.js";
import { brokerClouds } from "./support/broker-clouds.js";

const clouds = brokerClouds();

async function setup() {
  const made = await clouds.make();
  const { device } = await made.cloud.devices.register({ name: "gw", labels: { site: "berlin" } });
  const group = await made.cloud.groups.create({ name: "empty" });
  return { ...made, device, group };
}

describe("job validation: bad input is a 400 with a stable code and the field; nothing is created", () => {
  const cases: Array<
    [string, (ids: { device: string; group: string }) => Partial<NewJobInput>, string, string]
  > = [
    [
      "an unknown device id",
      () => ({ targets: { deviceIds: ["12345"] } }),
      "unknown_target",
      "targets.deviceIds[0]",
    ],
    [
      "an unknown group id",
      () => ({ targets: { groupIds: ["12345"] } }),
      "unknown_target",
      "targets.groupIds[0]",
    ],
    [
      "a malformed device id",
      () => ({ targets: { deviceIds: ["x"] } }),
      "validation_failed",
      "targets.deviceIds[0]",
    ],
    [
      "a selector that does not parse",
      () => ({ targets: { selector: "site in (a" } }),
      "invalid_selector",
      "targets.selector",
    ],
    [
      "a selector matching nothing",
      () => ({ targets: { selector: "site=paris" } }),
      "empty_target_set",
      "targets",
    ],
    [
      "an empty group only",
      ({ group }) => ({ targets: { groupIds: [group] } }),
      "empty_target_set",
      "targets",
    ],
    ["no targets at all", () => ({ targets: {} }), "empty_target_set", "targets"],
    [
      "waves and exponential together",
      ({ device }) => ({
        targets: { deviceIds: [device] },
        rollout: { exponential: { baseRatePerMinute: 10, incrementFactor: 2, afterSucceeded: 5 } },
        waves: [{ percent: 10, successThreshold: 90, soakMs: 0 }],
      }),
      "invalid_rollout",
      "waves",
    ],
    [
      "wave percents summing over 100",
      ({ device }) => ({
        targets: { deviceIds: [device] },
        waves: [
          { percent: 60, successThreshold: 90 },
          { percent: 41, successThreshold: 90 },
        ],
      }),
      "invalid_rollout",
      "waves",
    ],
    [
      "a wave with both percent and count",
      ({ device }) => ({
        targets: { deviceIds: [device] },
        waves: [{ percent: 10, count: 2, successThreshold: 90 }],
      }),
      "invalid_rollout",
      "waves[0]",
    ],
    [
      "a success threshold above 100",
      ({ device }) => ({ targets: { deviceIds: [device] }, waves: [{ percent: 10, successThreshold: 101 }] }),
      "invalid_rollout",
      "waves[0].successThreshold",
    ],
    [
      "an abort threshold below 0",
      ({ device }) => ({ targets: { deviceIds: [device] }, abort: [{ on: "FAILED", thresholdPercent: -1 }] }),
      "invalid_rollout",
      "abort[0].thresholdPercent",
    ],
    [
      "an abort rule on an unknown outcome",
      ({ device }) => ({
        targets: { deviceIds: [device] },
        abort: [{ on: "SUCCEEDED" as never, thresholdPercent: 10 }],
      }),
      "invalid_rollout",
      "abort[0].on",
    ],
    [
      "a base rate above maxPerMinute",
      ({ device }) => ({
        targets: { deviceIds: [device] },
        rollout: {
          maxPerMinute: 5,
          exponential: { baseRatePerMinute: 10, incrementFactor: 2, afterSucceeded: 5 },
        },
      }),
      "invalid_rollout",
      "rollout.exponential.baseRatePerMinute",
    ],
    [
      "maxInFlight 0",
      ({ device }) => ({ targets: { deviceIds: [device] }, rollout: { maxInFlight: 0 } }),
      "invalid_rollout",
      "rollout.maxInFlight",
    ],
    [
      "an unknown targetSelection",
      ({ device }) => ({ targets: { deviceIds: [device] }, targetSelection: "sometimes" as never }),
      "validation_failed",
      "targetSelection",
    ],
    [
      "an empty method",
      ({ device }) => ({ method: "", targets: { deviceIds: [device] } }),
      "validation_failed",
      "method",
    ],
    [
      "an execution timeout beyond the broker's bound",
      ({ device }) => ({ targets: { deviceIds: [device] }, executionTimeoutMs: 10 * 86_400_000 }),
      "validation_failed",
      "/timeoutMs",
    ],
  ];

  it.each(cases)("%s → %s at %s", async (_what, input, code, path) => {
    const { cloud, store, device, group } = await setup();
    const body = { method: "system.ping", ...input({ device: device.id, group: group.id }) } as NewJobInput;
    await expect(cloud.jobs.create(body)).rejects.toMatchObject({
      code,
      status: 400,
      details: { fields: expect.arrayContaining([expect.objectContaining({ path })]) },
    });
    expect((await store.jobs.list()).items).toEqual([]);
  });

  it("a selector with `in`, `!=` and `!key` targets exactly the matching devices", async () => {
    const { cloud, device } = await setup();
    await cloud.devices.register({ name: "legacy", labels: { site: "berlin", legacy: "1" } });
    await cloud.devices.register({ name: "canary", labels: { site: "berlin", tier: "canary" } });
    const job = await cloud.jobs.create({
      method: "system.ping",
      targets: { selector: "site in (berlin, paris),tier!=canary,!legacy" },
    });
    await new Promise((resolve) => setImmediate(resolve));
    const executions = await cloud.jobs.executions(job.id);
    expect(executions.items.map((e) => e.deviceId)).toEqual([device.id]);
  });
});

describe("preview: how many devices targets select", () => {
  it("counts each device once across ids, groups and selector; nobody is 0; bad targets fail as create does", async () => {
    const { cloud, device, group } = await setup();
    const { device: other } = await cloud.devices.register({ name: "other", labels: { site: "paris" } });
    await cloud.groups.addDevice(group.id, device.id);
    await cloud.groups.addDevice(group.id, other.id);
    const targets = { deviceIds: [device.id], groupIds: [group.id], selector: "site=berlin" };
    expect(await cloud.jobs.preview(targets)).toEqual({ total: 2 });
    expect(await cloud.jobs.preview({ selector: "site=rome" })).toEqual({ total: 0 });
    await expect(cloud.jobs.preview({ selector: "site in (" })).rejects.toMatchObject({
      code: "invalid_selector",
    });
    await expect(cloud.jobs.preview({ groupIds: ["42"] })).rejects.toMatchObject({
      code: "unknown_target",
      details: { fields: [{ path: "targets.groupIds[0]" }] },
    });
    await expect(cloud.jobs.preview({ deviceIds: ["x"] })).rejects.toMatchObject({
      code: "validation_failed",
    });
  });
});
