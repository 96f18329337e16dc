import assert from "node:assert/strict";
import { ValidationError } from "../errors.js";
import type { Store } from "../repos/index.js";
import { BIG_ID, expectCloudError, newDevice, nextId, seedDevice, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** DeviceRepository.list: numeric id order, cursor paging, limits and filters (part of the device contract). */
export function describeDeviceListContract(harness: TestHarness, current: () => Store): void {
  const { describe, it, beforeEach } = harness;
  describe("list", () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    it("orders by numeric id, not by string", async () => {
      const ids = ["100", BIG_ID, "9", "99999999999", "10"];
      for (const id of ids) await seedDevice(store, { id });
      assert.deepEqual(
        (await store.devices.list()).items.map((d) => d.id),
        ["9", "10", "100", "99999999999", BIG_ID],
      );
    });

    it("pages with an opaque cursor and no cursor on the last page", async () => {
      const ids = ["5", "40", "300", "2000", "10000"];
      for (const id of ids) await seedDevice(store, { id });
      const seen: string[] = [];
      let after: string | undefined;
      const sizes: number[] = [];
      do {
        const page = await store.devices.list({ limit: 2, after });
        seen.push(...page.items.map((d) => d.id));
        sizes.push(page.items.length);
        if (page.nextCursor !== undefined) assert.equal(typeof page.nextCursor, "string");
        after = page.nextCursor;
      } while (after !== undefined);
      assert.deepEqual(sizes, [2, 2, 1]);
      assert.deepEqual(seen, ids);
      // A page that ends exactly at the last row carries no cursor.
      assert.equal((await store.devices.list({ limit: 5 })).nextCursor, undefined);
    });

    it("defaults to 100 per page and clamps the limit to 1..1000", async () => {
      const created = await Promise.all(
        Array.from({ length: 1001 }, (_, i) => store.devices.create(newDevice({ id: String(1000 + i) }))),
      );
      assert.equal(created.length, 1001);
      const first = await store.devices.list();
      assert.equal(first.items.length, 100);
      assert.equal(first.items[0]?.id, "1000");
      const max = await store.devices.list({ limit: 5000 });
      assert.equal(max.items.length, 1000);
      assert.notEqual(max.nextCursor, undefined);
      const rest = await store.devices.list({ limit: 5000, after: max.nextCursor });
      assert.deepEqual(
        rest.items.map((d) => d.id),
        ["2000"],
      );
      assert.equal(rest.nextCursor, undefined);
      assert.equal((await store.devices.list({ limit: 0 })).items.length, 1);
    });

    it("rejects a cursor it did not make", async () => {
      await seedDevice(store);
      for (const after of ["not-a-cursor", "!!!", Buffer.from("abc").toString("base64url")]) {
        await expectCloudError(store.devices.list({ after }), ValidationError, "validation_failed");
      }
    });

    it("filters by group, label, presence and text, combined with AND", async () => {
      const group = nextId();
      await store.groups.create({ id: group, name: "berlin", createdAt: T0 });
      const a = await seedDevice(store, {
        name: "Gateway Alpha",
        labels: { site: "berlin", role: "gw" },
        hardware: { serialNumber: "SN-A", model: "RPi4", nics: [] },
      });
      const b = await seedDevice(store, {
        name: "sensor-b",
        description: "Cold-storage SENSOR",
        labels: { site: "paris" },
        hardware: { serialNumber: "SN-B", model: "ESP32", nics: [] },
      });
      const c = await seedDevice(store, {
        name: "camera-c",
        labels: { role: "cam", 'odd key.with"quote': "v" },
      });
      await store.groups.addDevice(group, a);
      await store.groups.addDevice(group, c);
      await store.devices.setPresence(b, { online: true, connectedAt: T0, lastSeenAt: T0 });
      await store.devices.setPresence(c, { online: true, connectedAt: T0, lastSeenAt: T0 });

      const ids = async (query: Parameters<typeof store.devices.list>[0]) =>
        (await store.devices.list(query)).items.map((d) => d.id);
      assert.deepEqual(await ids({ groupId: group }), [a, c]);
      assert.deepEqual(await ids({ groupId: nextId() }), []);
      assert.deepEqual(await ids({ groupId: "nope" }), []);
      assert.deepEqual(await ids({ label: { key: "site" } }), [a, b]);
      assert.deepEqual(await ids({ label: { key: "site", value: "paris" } }), [b]);
      assert.deepEqual(await ids({ label: { key: "site", value: "PARIS" } }), []);
      assert.deepEqual(await ids({ label: { key: 'odd key.with"quote' } }), [c]);
      assert.deepEqual(await ids({ label: { key: 'odd key.with"quote', value: "v" } }), [c]);
      assert.deepEqual(await ids({ label: { key: "missing" } }), []);
      assert.deepEqual(await ids({ online: true }), [b, c]);
      assert.deepEqual(await ids({ online: false }), [a]);
      assert.deepEqual(await ids({ text: "GATEWAY" }), [a]);
      assert.deepEqual(await ids({ text: "sensor" }), [b]);
      assert.deepEqual(await ids({ text: "sn-" }), [a, b]);
      assert.deepEqual(await ids({ text: "esp" }), [b]);
      assert.deepEqual(await ids({ text: "-" }), [a, b, c]);
      assert.deepEqual(await ids({ text: "%" }), []);
      assert.deepEqual(await ids({ groupId: group, online: true }), [c]);
      assert.deepEqual(await ids({ label: { key: "role" }, text: "cam" }), [c]);
      assert.deepEqual(await ids({ groupId: group, label: { key: "site", value: "paris" } }), []);
      // Filters and paging together.
      const page = await store.devices.list({ text: "-", limit: 2 });
      assert.deepEqual(
        page.items.map((d) => d.id),
        [a, b],
      );
      assert.deepEqual(await ids({ text: "-", after: page.nextCursor }), [c]);
    });

    it("matches a malformed group id to no group, not even to group 0", async () => {
      await store.groups.create({ id: "0", name: "zero", createdAt: T0 });
      const member = await seedDevice(store);
      await store.groups.addDevice("0", member);
      assert.deepEqual(
        (await store.devices.list({ groupId: "0" })).items.map((d) => d.id),
        [member],
      );
      for (const groupId of ["nope", "", "00", "-1"]) {
        assert.deepEqual((await store.devices.list({ groupId })).items, []);
      }
    });

    it("matches text case-insensitively beyond ASCII", async () => {
      const id = await seedDevice(store, { name: "ÉCOLE Straße" });
      assert.deepEqual(
        (await store.devices.list({ text: "école" })).items.map((d) => d.id),
        [id],
      );
    });
  });
}
