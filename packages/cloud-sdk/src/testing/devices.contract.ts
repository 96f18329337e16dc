import assert from "node:assert/strict";
import { ConflictError, StoreUnavailableError, ValidationError } from "../errors.js";
import type { Device, Store } from "../repos/index.js";
import { assertInstanceOf, assertMatches } from "./assertions.js";
import { describeDeviceListContract } from "./device-list.contract.js";
import { describeDevicePresenceContract } from "./device-presence.contract.js";
import {
  BIG_ID,
  eachStore,
  expectCloudError,
  type MakeStore,
  newDevice,
  nextId,
  SECRET_HASH,
  seedDevice,
  T0,
} from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** The DeviceRepository contract every store implementation must meet. */
export function describeDeviceRepositoryContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: DeviceRepository`, () => {
    let store: Store;
    eachStore(harness, makeStore, (s) => {
      store = s;
    });

    describe("create and read", () => {
      it("creates a device with defaults and reads it back", async () => {
        const id = nextId();
        const created = await store.devices.create({
          id,
          name: "edge-1",
          secretHash: SECRET_HASH,
          createdAt: T0,
        });
        const expected: Device = {
          id,
          name: "edge-1",
          type: "",
          description: "",
          labels: {},
          disabled: false,
          hardware: { nics: [] },
          software: {},
          online: false,
          connectedAt: null,
          lastSeenAt: null,
          createdAt: T0,
          updatedAt: T0,
        };
        assert.deepStrictEqual(created, expected);
        assert.deepStrictEqual(await store.devices.get(id), expected);
      });

      it("round-trips every registration field", async () => {
        const input = newDevice({
          name: "Gateway Berlin",
          type: "gateway",
          description: "rack 4",
          labels: { site: "berlin", role: "gw" },
          disabled: true,
          hardware: {
            serialNumber: "SN-1",
            model: "RPi4",
            nics: [{ type: "ethernet", name: "eth0", mac: "aa:bb:cc:dd:ee:ff", ipv4: "10.0.0.2" }],
          },
          software: { version: "1.2.3", lastUpdate: T0 - 5 },
        });
        await store.devices.create(input);
        assertMatches(await store.devices.get(input.id), {
          name: "Gateway Berlin",
          type: "gateway",
          description: "rack 4",
          labels: { site: "berlin", role: "gw" },
          disabled: true,
          hardware: input.hardware,
          software: { version: "1.2.3", lastUpdate: T0 - 5 },
        });
      });

      it("never returns the secret hash on a read path", async () => {
        const created = await store.devices.create(
          newDevice({ hardware: { serialNumber: "S", model: "M", nics: [] } }),
        );
        const reads: unknown[] = [
          created,
          await store.devices.get(created.id),
          await store.devices.findBySerial("S", "M"),
          (await store.devices.list()).items[0],
          await store.devices.update(created.id, { name: "x" }, T0 + 1),
        ];
        for (const read of reads) {
          assert.ok(typeof read === "object" && read !== null);
          assert.ok(!("secretHash" in read));
          assert.ok(!JSON.stringify(read).includes(SECRET_HASH));
        }
      });

      it("keeps ids above 2^53 exact", async () => {
        const neighbour = (BigInt(BIG_ID) - 1n).toString();
        await store.devices.create(newDevice({ id: BIG_ID, name: "big" }));
        await store.devices.create(newDevice({ id: neighbour, name: "neighbour" }));
        assertMatches(await store.devices.get(BIG_ID), { id: BIG_ID, name: "big" });
        assertMatches(await store.devices.get(neighbour), { id: neighbour, name: "neighbour" });
        assert.deepEqual(
          (await store.devices.list()).items.map((d) => d.id),
          [neighbour, BIG_ID],
        );
        assertMatches(await store.devices.getCredentials(BIG_ID), { deviceId: BIG_ID });
      });

      it("refuses a taken (serialNumber, model) pair with device_exists", async () => {
        await seedDevice(store, { hardware: { serialNumber: "SN-1", model: "M1", nics: [] } });
        await expectCloudError(
          store.devices.create(newDevice({ hardware: { serialNumber: "SN-1", model: "M1", nics: [] } })),
          ConflictError,
          "device_exists",
        );
        // Either half alone is no conflict.
        await seedDevice(store, { hardware: { serialNumber: "SN-1", model: "M2", nics: [] } });
        await seedDevice(store, { hardware: { serialNumber: "SN-2", model: "M1", nics: [] } });
        assert.equal((await store.devices.list()).items.length, 3);
      });

      it("never lets devices without a serial number or model conflict", async () => {
        await seedDevice(store);
        await seedDevice(store);
        await seedDevice(store, { hardware: { serialNumber: "SN-9", nics: [] } });
        await seedDevice(store, { hardware: { serialNumber: "SN-9", nics: [] } });
        await seedDevice(store, { hardware: { model: "M9", nics: [] } });
        await seedDevice(store, { hardware: { model: "M9", nics: [] } });
        await seedDevice(store, { hardware: { serialNumber: "", model: "M9", nics: [] } });
        await seedDevice(store, { hardware: { serialNumber: "", model: "M9", nics: [] } });
        assert.equal((await store.devices.list()).items.length, 8);
      });

      it("stores an empty serial number or model as absent", async () => {
        const id = await seedDevice(store, { hardware: { serialNumber: "", model: "", nics: [] } });
        assert.deepStrictEqual((await store.devices.get(id))?.hardware, { nics: [] });
      });

      it("refuses names, types, serial numbers and models longer than 255 characters, naming each", async () => {
        const long = "ü".repeat(256);
        const refused = await store.devices
          .create(
            newDevice({ name: long, type: long, hardware: { serialNumber: long, model: "ok", nics: [] } }),
          )
          .catch((e) => e);
        assertInstanceOf(refused, ValidationError);
        assert.deepEqual(
          (refused.details as { fields: Array<{ path: string }> }).fields.map((f) => f.path),
          ["/name", "/type", "/hardware/serialNumber"],
        );
        const id = await seedDevice(store);
        const before = await store.devices.get(id);
        await expectCloudError(
          store.devices.update(id, { hardware: { model: long } }, T0 + 1),
          ValidationError,
          "validation_failed",
        );
        assert.deepStrictEqual(await store.devices.get(id), before);
        // 255 characters of any kind fit everywhere.
        const fits = "ü".repeat(255);
        assertMatches(await store.devices.update(id, { name: fits }, T0 + 2), { name: fits });
      });

      it("refuses a reused id with conflict", async () => {
        const id = await seedDevice(store);
        await expectCloudError(store.devices.create(newDevice({ id })), ConflictError, "conflict");
      });

      it("rejects an id that is not a decimal Snowflake", async () => {
        for (const id of ["abc", "", "-1", "1.5", "007", "99999999999999999999"]) {
          await expectCloudError(
            store.devices.create(newDevice({ id })),
            ValidationError,
            "validation_failed",
          );
        }
      });

      it("finds nothing for malformed or unknown ids", async () => {
        await seedDevice(store);
        for (const id of ["abc", "007", "", nextId()]) {
          assert.equal(await store.devices.get(id), undefined);
          assert.equal(await store.devices.getCredentials(id), undefined);
          assert.equal(await store.devices.update(id, { name: "x" }, T0), undefined);
          assert.equal(await store.devices.setSecret(id, "h", T0), undefined);
          assert.equal(await store.devices.delete(id), false);
        }
      });

      it("finds a device by serial number and model", async () => {
        const id = await seedDevice(store, { hardware: { serialNumber: "SN-7", model: "M7", nics: [] } });
        assert.equal((await store.devices.findBySerial("SN-7", "M7"))?.id, id);
        assert.equal(await store.devices.findBySerial("SN-7", "other"), undefined);
        assert.equal(await store.devices.findBySerial("sn-7", "M7"), undefined);
        assert.equal(await store.devices.findBySerial("", ""), undefined);
      });
    });

    describe("credentials, update and secret rotation", () => {
      it("gives auth the hash, generation 1 and the disabled flag", async () => {
        const id = await seedDevice(store);
        assert.deepStrictEqual(await store.devices.getCredentials(id), {
          deviceId: id,
          secretHash: SECRET_HASH,
          generation: 1,
          disabled: false,
        });
      });

      it("updates given fields only and stamps updatedAt", async () => {
        const id = await seedDevice(store, {
          description: "keep me",
          labels: { a: "1", b: "2" },
          hardware: { serialNumber: "S1", model: "M1", nics: [{ name: "eth0" }] },
          software: { version: "1.0.0", lastUpdate: 5 },
        });
        const updated = await store.devices.update(id, { name: "renamed", labels: { c: "3" } }, T0 + 10);
        assertMatches(updated, {
          name: "renamed",
          description: "keep me",
          labels: { c: "3" },
          hardware: { serialNumber: "S1", model: "M1", nics: [{ name: "eth0" }] },
          updatedAt: T0 + 10,
          createdAt: T0,
        });
        assert.deepStrictEqual(await store.devices.get(id), updated);
      });

      it("merges hardware and software field by field; an empty serial clears it", async () => {
        const id = await seedDevice(store, {
          hardware: { serialNumber: "S1", model: "M1", nics: [{ name: "eth0" }] },
          software: { version: "1.0.0", lastUpdate: 5 },
        });
        await store.devices.update(
          id,
          { hardware: { nics: [{ name: "wlan0" }] }, software: { version: "2.0.0" } },
          T0,
        );
        assertMatches(await store.devices.get(id), {
          hardware: { serialNumber: "S1", model: "M1", nics: [{ name: "wlan0" }] },
          software: { version: "2.0.0", lastUpdate: 5 },
        });
        await store.devices.update(id, { hardware: { serialNumber: "" } }, T0);
        assert.deepStrictEqual((await store.devices.get(id))?.hardware, {
          model: "M1",
          nics: [{ name: "wlan0" }],
        });
      });

      it("bumps the generation when a device is disabled, not when re-saved or enabled", async () => {
        const id = await seedDevice(store);
        await store.devices.update(id, { disabled: false }, T0 + 1);
        assert.equal((await store.devices.getCredentials(id))?.generation, 1);
        await store.devices.update(id, { disabled: true }, T0 + 2);
        assertMatches(await store.devices.getCredentials(id), { generation: 2, disabled: true });
        await store.devices.update(id, { disabled: true, name: "still off" }, T0 + 3);
        assert.equal((await store.devices.getCredentials(id))?.generation, 2);
        await store.devices.update(id, { disabled: false }, T0 + 4);
        assertMatches(await store.devices.getCredentials(id), { generation: 2, disabled: false });
        assert.equal((await store.devices.get(id))?.updatedAt, T0 + 4);
      });

      it("refuses an update onto a taken (serialNumber, model) pair and leaves the device as it was", async () => {
        await seedDevice(store, { hardware: { serialNumber: "S1", model: "M", nics: [] } });
        const id = await seedDevice(store, {
          name: "second",
          hardware: { serialNumber: "S2", model: "M", nics: [] },
        });
        await expectCloudError(
          store.devices.update(id, { name: "changed", hardware: { serialNumber: "S1" } }, T0 + 1),
          ConflictError,
          "device_exists",
        );
        assertMatches(await store.devices.get(id), {
          name: "second",
          hardware: { serialNumber: "S2" },
          updatedAt: T0,
        });
        // Re-saving its own pair is no conflict.
        assert.notEqual(
          await store.devices.update(id, { hardware: { serialNumber: "S2", model: "M" } }, T0 + 2),
          undefined,
        );
      });

      it("rotates the secret: new hash, generation + 1, updatedAt", async () => {
        const id = await seedDevice(store);
        assert.equal(await store.devices.setSecret(id, "new-hash", T0 + 5), 2);
        assert.equal(await store.devices.setSecret(id, "newer-hash", T0 + 6), 3);
        assertMatches(await store.devices.getCredentials(id), {
          secretHash: "newer-hash",
          generation: 3,
        });
        assert.equal((await store.devices.get(id))?.updatedAt, T0 + 6);
      });
    });

    describeDevicePresenceContract(harness, () => store);

    describeDeviceListContract(harness, () => store);

    describe("after close", () => {
      it("rejects with StoreUnavailableError", async () => {
        await store.close();
        await expectCloudError(store.devices.get(nextId()), StoreUnavailableError, "store_unavailable");
      });
    });
  });
}
