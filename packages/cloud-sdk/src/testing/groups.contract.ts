import assert from "node:assert/strict";
import { ConflictError, ValidationError } from "../errors.js";
import type { Store } from "../repos/index.js";
import { assertInstanceOf, assertMatches } from "./assertions.js";
import { eachStore, expectCloudError, type MakeStore, nextId, seedDevice, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** The GroupRepository contract every store implementation must meet. */
export function describeGroupRepositoryContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: GroupRepository`, () => {
    let store: Store;
    eachStore(harness, makeStore, (s) => {
      store = s;
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
      assert.deepStrictEqual(created, {
        id,
        name: "berlin",
        description: "all of Berlin",
        createdAt: T0,
        updatedAt: T0,
      });
      assert.deepStrictEqual(await store.groups.get(id), created);
      assert.equal((await createGroup("paris")).description, "");

      const updated = await store.groups.update(id, { description: "Berlin + Potsdam" }, T0 + 5);
      assert.deepStrictEqual(updated, { ...created, description: "Berlin + Potsdam", updatedAt: T0 + 5 });
      assert.deepStrictEqual(await store.groups.get(id), updated);

      assert.equal(await store.groups.delete(id), true);
      assert.equal(await store.groups.delete(id), false);
      assert.equal(await store.groups.get(id), undefined);
      assert.equal(await store.groups.update(id, { name: "x" }, T0), undefined);
      assert.equal(await store.groups.get("not-an-id"), undefined);
    });

    it("refuses a taken name with conflict, on create and on rename", async () => {
      const a = await createGroup("alpha");
      await createGroup("beta");
      await expectCloudError(createGroup("alpha"), ConflictError, "conflict");
      await expectCloudError(store.groups.update(a.id, { name: "beta" }, T0), ConflictError, "conflict");
      assert.equal((await store.groups.get(a.id))?.name, "alpha");
      // Renaming to its own name, or to a name differing in case, is fine.
      assertMatches(await store.groups.update(a.id, { name: "alpha" }, T0 + 1), { name: "alpha" });
      assertMatches(await store.groups.update(a.id, { name: "Beta" }, T0 + 2), { name: "Beta" });
    });

    it("refuses a name longer than 255 characters, naming the field, on create and on rename", async () => {
      const long = "é".repeat(256);
      const refused = await store.groups.create({ id: nextId(), name: long, createdAt: T0 }).catch((e) => e);
      assertInstanceOf(refused, ValidationError);
      assertMatches(refused, { details: { fields: [{ path: "/name" }] } });
      const g = await createGroup("é".repeat(255)); // the limit counts characters, not bytes
      await expectCloudError(
        store.groups.update(g.id, { name: long }, T0),
        ValidationError,
        "validation_failed",
      );
      assert.equal((await store.groups.get(g.id))?.name, "é".repeat(255));
    });

    it("refuses a reused or malformed id", async () => {
      const g = await createGroup("one");
      await expectCloudError(createGroup("two", g.id), ConflictError, "conflict");
      await expectCloudError(createGroup("three", "x1"), ValidationError, "validation_failed");
    });

    it("lists groups by numeric id with paging", async () => {
      for (const id of ["30", "4", "200"]) await createGroup(`g${id}`, id);
      const first = await store.groups.list({ limit: 2 });
      assert.deepEqual(
        first.items.map((g) => g.id),
        ["4", "30"],
      );
      const second = await store.groups.list({ limit: 2, after: first.nextCursor });
      assert.deepEqual(
        second.items.map((g) => g.id),
        ["200"],
      );
      assert.equal(second.nextCursor, undefined);
    });

    it("adds and removes members idempotently", async () => {
      const g = await createGroup("g");
      const d = await seedDevice(store);
      assert.equal(await store.groups.addDevice(g.id, d), true);
      assert.equal(await store.groups.addDevice(g.id, d), true);
      assert.deepEqual((await store.groups.listDeviceIds(g.id)).items, [d]);
      assert.equal(await store.groups.addDevice(nextId(), d), false);
      assert.equal(await store.groups.addDevice(g.id, nextId()), false);
      assert.equal(await store.groups.addDevice("bad", d), false);
      assert.equal(await store.groups.removeDevice(g.id, d), true);
      assert.equal(await store.groups.removeDevice(g.id, d), false);
      assert.deepEqual((await store.groups.listDeviceIds(g.id)).items, []);
    });

    it("lists member ids in numeric order with paging", async () => {
      const g = await createGroup("g");
      for (const id of ["700", "8", "60"]) {
        await seedDevice(store, { id });
        await store.groups.addDevice(g.id, id);
      }
      const first = await store.groups.listDeviceIds(g.id, { limit: 2 });
      assert.deepEqual(first.items, ["8", "60"]);
      const rest = await store.groups.listDeviceIds(g.id, { limit: 2, after: first.nextCursor });
      assert.deepEqual(rest, { items: ["700"] });
      assert.deepEqual((await store.groups.listDeviceIds(nextId())).items, []);
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
      assert.deepEqual(map.get(a), ["9", "11"]);
      assert.deepEqual(map.get(b), ["11"]);
      assert.deepEqual(map.get(lonely), []);
      assert.deepEqual(map.get("junk"), []);
      assert.equal(map.size, 5);
      assert.equal((await store.groups.groupIdsOf([])).size, 0);
    });

    it("maps any number of devices in one call", async () => {
      const g = await createGroup("g");
      const d = await seedDevice(store);
      await store.groups.addDevice(g.id, d);
      const unknown = Array.from({ length: 1100 }, (_, i) => String(i + 1));
      const map = await store.groups.groupIdsOf([...unknown, d]);
      assert.equal(map.size, 1101);
      assert.deepEqual(map.get(d), [g.id]);
      assert.deepEqual(map.get("1"), []);
    });

    it("drops memberships with the group", async () => {
      const g = await createGroup("g");
      const d = await seedDevice(store);
      await store.groups.addDevice(g.id, d);
      await store.groups.delete(g.id);
      assert.deepEqual((await store.groups.groupIdsOf([d])).get(d), []);
      assert.deepEqual((await store.devices.list({ groupId: g.id })).items, []);
      assert.notEqual(await store.devices.get(d), undefined);
    });
  });
}
