import { describe, expect, it } from "vitest";
import { createMemoryStore, GroupService } from "../src/index.js";
import { ManualClock } from "./support/manual-clock.js";

function setup() {
  const store = createMemoryStore();
  const clock = new ManualClock();
  let next = 100;
  const groups = new GroupService({ groups: store.groups, ids: () => String(next++), clock });
  return { store, clock, groups };
}

/** Rejects with a CloudError of this code and HTTP status (the REST API answers with them). */
async function failsWith(work: Promise<unknown>, code: string, status: number): Promise<void> {
  await expect(work).rejects.toMatchObject({ code, status });
}

describe("GroupService", () => {
  it("creates with an id from the IdGenerator and times from the Clock", async () => {
    const { clock, groups } = setup();
    const created = await groups.create({ name: "berlin" });
    expect(created).toEqual({
      id: "100",
      name: "berlin",
      description: "",
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
    await clock.advance(5_000);
    const renamed = await groups.update(created.id, { description: "the Berlin site" });
    expect(renamed).toMatchObject({ createdAt: created.createdAt, updatedAt: created.createdAt + 5_000 });
    expect(await groups.get(created.id)).toEqual(renamed);
    expect((await groups.list()).items.map((g) => g.id)).toEqual(["100"]);
  });

  it("answers group_not_found for every operation on an unknown group", async () => {
    const { groups } = setup();
    await failsWith(groups.get("9"), "group_not_found", 404);
    await failsWith(groups.update("9", { name: "x" }), "group_not_found", 404);
    await failsWith(groups.delete("9"), "group_not_found", 404);
    await failsWith(groups.listDevices("9"), "group_not_found", 404);
    await failsWith(groups.addDevice("9", "1"), "group_not_found", 404);
  });

  it("refuses a taken name (conflict) and an overlong one (validation_failed)", async () => {
    const { groups } = setup();
    const first = await groups.create({ name: "taken" });
    const second = await groups.create({ name: "other" });
    await failsWith(groups.create({ name: "taken" }), "conflict", 409);
    await failsWith(groups.update(second.id, { name: first.name }), "conflict", 409);
    await failsWith(groups.create({ name: "x".repeat(256) }), "validation_failed", 400);
  });

  it("keeps membership: add is idempotent, unknown devices and non-members are not found", async () => {
    const { store, groups } = setup();
    const group = await groups.create({ name: "g" });
    await store.devices.create({ id: "7", name: "d", secretHash: "h", createdAt: 1 });
    await groups.addDevice(group.id, "7");
    await groups.addDevice(group.id, "7");
    expect(await groups.listDevices(group.id)).toEqual({ items: ["7"] });
    await failsWith(groups.addDevice(group.id, "8"), "device_not_found", 404);
    await groups.removeDevice(group.id, "7");
    await failsWith(groups.removeDevice(group.id, "7"), "not_found", 404);
    await groups.delete(group.id);
    await failsWith(groups.get(group.id), "group_not_found", 404);
  });
});
