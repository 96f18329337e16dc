import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError, ValidationError } from "../../../src/errors.js";
import type { Store } from "../../../src/repos/index.js";
import { expectCloudError, type MakeStore, nextId, seedDevice, T0 } from "./fixtures.js";

/** The GroupRepository contract every store implementation must meet. */
export function describeGroupRepositoryContract(name: string, makeStore: MakeStore): void {
  describe(`${name}: GroupRepository`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const createGroup = (groupName: string, id = nextId()) =>
      store.groups.create({ id, name: groupName, createdAt: T0 });

    it("creates, reads, updates and deletes a group", async () => {
      const id = nextId();
      const created = await store.groups.create({
        id,
        name: "berlin",
        description: "all of Berlin",
        createdAt: T0,
      });
      expect(created).toStrictEqual({
        id,
        name: "berlin",
        description: "all of Berlin",
        createdAt: T0,
        updatedAt: T0,
      });
      expect(await store.groups.get(id)).toStrictEqual(created);
      expect((await createGroup("paris")).description).toBe("");

      const updated = await store.groups.update(id, { description: "Berlin + Potsdam" }, T0 + 5);
      expect(updated).toStrictEqual({ ...created, description: "Berlin + Potsdam", updatedAt: T0 + 5 });
      expect(await store.groups.get(id)).toStrictEqual(updated);

      expect(await store.groups.delete(id)).toBe(true);
      expect(await store.groups.delete(id)).toBe(false);
      expect(await store.groups.get(id)).toBeUndefined();
      expect(await store.groups.update(id, { name: "x" }, T0)).toBeUndefined();
      expect(await store.groups.get("not-an-id")).toBeUndefined();
    });

    it("refuses a taken name with conflict, on create and on rename", async () => {
      const a = await createGroup("alpha");
      await createGroup("beta");
      await expectCloudError(createGroup("alpha"), ConflictError, "conflict");
      await expectCloudError(store.groups.update(a.id, { name: "beta" }, T0), ConflictError, "conflict");
      expect((await store.groups.get(a.id))?.name).toBe("alpha");
      // Renaming to its own name, or to a name differing in case, is fine.
      expect(await store.groups.update(a.id, { name: "alpha" }, T0 + 1)).toMatchObject({ name: "alpha" });
      expect(await store.groups.update(a.id, { name: "Beta" }, T0 + 2)).toMatchObject({ name: "Beta" });
    });

    it("refuses a name longer than 255 characters, naming the field, on create and on rename", async () => {
      const long = "é".repeat(256);
      const refused = await store.groups.create({ id: nextId(), name: long, createdAt: T0 }).catch((e) => e);
      expect(refused).toBeInstanceOf(ValidationError);
      expect(refused).toMatchObject({ details: { fields: [{ path: "/name" }] } });
      const g = await createGroup("é".repeat(255)); // the limit counts characters, not bytes
      await expectCloudError(
        store.groups.update(g.id, { name: long }, T0),
        ValidationError,
        "validation_failed",
      );
      expect((await store.groups.get(g.id))?.name).toBe("é".repeat(255));
    });

    it("refuses a reused or malformed id", async () => {
      const g = await createGroup("one");
      await expectCloudError(createGroup("two", g.id), ConflictError, "conflict");
      await expectCloudError(createGroup("three", "x1"), ValidationError, "validation_failed");
    });

    it("lists groups by numeric id with paging", async () => {
      for (const id of ["30", "4", "200"]) await createGroup(`g${id}`, id);
      const first = await store.groups.list({ limit: 2 });
      expect(first.items.map((g) => g.id)).toEqual(["4", "30"]);
      const second = await store.groups.list({ limit: 2, after: first.nextCursor });
      expect(second.items.map((g) => g.id)).toEqual(["200"]);
      expect(second.nextCursor).toBeUndefined();
    });

    it("adds and removes members idempotently", async () => {
      const g = await createGroup("g");
      const d = await seedDevice(store);
      expect(await store.groups.addDevice(g.id, d)).toBe(true);
      expect(await store.groups.addDevice(g.id, d)).toBe(true);
      expect((await store.groups.listDeviceIds(g.id)).items).toEqual([d]);
      expect(await store.groups.addDevice(nextId(), d)).toBe(false);
      expect(await store.groups.addDevice(g.id, nextId())).toBe(false);
      expect(await store.groups.addDevice("bad", d)).toBe(false);
      expect(await store.groups.removeDevice(g.id, d)).toBe(true);
      expect(await store.groups.removeDevice(g.id, d)).toBe(false);
      expect((await store.groups.listDeviceIds(g.id)).items).toEqual([]);
    });

    it("lists member ids in numeric order with paging", async () => {
      const g = await createGroup("g");
      for (const id of ["700", "8", "60"]) {
        await seedDevice(store, { id });
        await store.groups.addDevice(g.id, id);
      }
      const first = await store.groups.listDeviceIds(g.id, { limit: 2 });
      expect(first.items).toEqual(["8", "60"]);
      const rest = await store.groups.listDeviceIds(g.id, { limit: 2, after: first.nextCursor });
      expect(rest).toEqual({ items: ["700"] });
      expect((await store.groups.listDeviceIds(nextId())).items).toEqual([]);
    });

    it("maps devices to their groups; a device may be in many", async () => {
      const g1 = await createGroup("g1", "11");
      const g2 = await createGroup("g2", "9");
      const a = await seedDevice(store);
      const b = await seedDevice(store);
      const lonely = await seedDevice(store);
      await store.groups.addDevice(g1.id, a);
      await store.groups.addDevice(g2.id, a);
      await store.groups.addDevice(g1.id, b);
      const map = await store.groups.groupIdsOf([a, b, lonely, nextId(), "junk"]);
      expect(map.get(a)).toEqual(["9", "11"]);
      expect(map.get(b)).toEqual(["11"]);
      expect(map.get(lonely)).toEqual([]);
      expect(map.get("junk")).toEqual([]);
      expect(map.size).toBe(5);
      expect((await store.groups.groupIdsOf([])).size).toBe(0);
    });

    it("maps any number of devices in one call", async () => {
      const g = await createGroup("g");
      const d = await seedDevice(store);
      await store.groups.addDevice(g.id, d);
      const unknown = Array.from({ length: 1100 }, (_, i) => String(i + 1));
      const map = await store.groups.groupIdsOf([...unknown, d]);
      expect(map.size).toBe(1101);
      expect(map.get(d)).toEqual([g.id]);
      expect(map.get("1")).toEqual([]);
    });

    it("drops memberships with the group", async () => {
      const g = await createGroup("g");
      const d = await seedDevice(store);
      await store.groups.addDevice(g.id, d);
      await store.groups.delete(g.id);
      expect((await store.groups.groupIdsOf([d])).get(d)).toEqual([]);
      expect((await store.devices.list({ groupId: g.id })).items).toEqual([]);
      expect(await store.devices.get(d)).toBeDefined();
    });
  });
}
