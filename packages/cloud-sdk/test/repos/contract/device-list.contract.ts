import { beforeEach, describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/errors.js";
import type { Store } from "../../../src/repos/index.js";
import { BIG_ID, expectCloudError, newDevice, nextId, seedDevice, T0 } from "./fixtures.js";

/** DeviceRepository.list: numeric id order, cursor paging, limits and filters (part of the device contract). */
export function describeDeviceListContract(current: () => Store): void {
  describe("list", () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    it("orders by numeric id, not by string", async () => {
      const ids = ["100", BIG_ID, "9", "99999999999", "10"];
      for (const id of ids) await seedDevice(store, { id });
      expect((await store.devices.list()).items.map((d) => d.id)).toEqual([
        "9",
        "10",
        "100",
        "99999999999",
        BIG_ID,
      ]);
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
        if (page.nextCursor !== undefined) expect(typeof page.nextCursor).toBe("string");
        after = page.nextCursor;
      } while (after !== undefined);
      expect(sizes).toEqual([2, 2, 1]);
      expect(seen).toEqual(ids);
      // A page that ends exactly at the last row carries no cursor.
      expect((await store.devices.list({ limit: 5 })).nextCursor).toBeUndefined();
    });

    it("defaults to 100 per page and clamps the limit to 1..1000", async () => {
      const created = await Promise.all(
        Array.from({ length: 1001 }, (_, i) => store.devices.create(newDevice({ id: String(1000 + i) }))),
      );
      expect(created).toHaveLength(1001);
      const first = await store.devices.list();
      expect(first.items).toHaveLength(100);
      expect(first.items[0]?.id).toBe("1000");
      const max = await store.devices.list({ limit: 5000 });
      expect(max.items).toHaveLength(1000);
      expect(max.nextCursor).toBeDefined();
      const rest = await store.devices.list({ limit: 5000, after: max.nextCursor });
      expect(rest.items.map((d) => d.id)).toEqual(["2000"]);
      expect(rest.nextCursor).toBeUndefined();
      expect((await store.devices.list({ limit: 0 })).items).toHaveLength(1);
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
      expect(await ids({ groupId: group })).toEqual([a, c]);
      expect(await ids({ groupId: nextId() })).toEqual([]);
      expect(await ids({ groupId: "nope" })).toEqual([]);
      expect(await ids({ label: { key: "site" } })).toEqual([a, b]);
      expect(await ids({ label: { key: "site", value: "paris" } })).toEqual([b]);
      expect(await ids({ label: { key: "site", value: "PARIS" } })).toEqual([]);
      expect(await ids({ label: { key: 'odd key.with"quote' } })).toEqual([c]);
      expect(await ids({ label: { key: 'odd key.with"quote', value: "v" } })).toEqual([c]);
      expect(await ids({ label: { key: "missing" } })).toEqual([]);
      expect(await ids({ online: true })).toEqual([b, c]);
      expect(await ids({ online: false })).toEqual([a]);
      expect(await ids({ text: "GATEWAY" })).toEqual([a]);
      expect(await ids({ text: "sensor" })).toEqual([b]);
      expect(await ids({ text: "sn-" })).toEqual([a, b]);
      expect(await ids({ text: "esp" })).toEqual([b]);
      expect(await ids({ text: "-" })).toEqual([a, b, c]);
      expect(await ids({ text: "%" })).toEqual([]);
      expect(await ids({ groupId: group, online: true })).toEqual([c]);
      expect(await ids({ label: { key: "role" }, text: "cam" })).toEqual([c]);
      expect(await ids({ groupId: group, label: { key: "site", value: "paris" } })).toEqual([]);
      // Filters and paging together.
      const page = await store.devices.list({ text: "-", limit: 2 });
      expect(page.items.map((d) => d.id)).toEqual([a, b]);
      expect(await ids({ text: "-", after: page.nextCursor })).toEqual([c]);
    });

    it("matches a malformed group id to no group, not even to group 0", async () => {
      await store.groups.create({ id: "0", name: "zero", createdAt: T0 });
      const member = await seedDevice(store);
      await store.groups.addDevice("0", member);
      expect((await store.devices.list({ groupId: "0" })).items.map((d) => d.id)).toEqual([member]);
      for (const groupId of ["nope", "", "00", "-1"]) {
        expect((await store.devices.list({ groupId })).items).toEqual([]);
      }
    });

    it("matches text case-insensitively beyond ASCII", async () => {
      const id = await seedDevice(store, { name: "ÉCOLE Straße" });
      expect((await store.devices.list({ text: "école" })).items.map((d) => d.id)).toEqual([id]);
    });
  });
}
