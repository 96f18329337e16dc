import assert from "node:assert/strict";
import type { Store } from "../repos/index.js";
import { assertMatches } from "./assertions.js";
import { nextId, seedDevice, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** DeviceRepository presence writes and delete (part of the device contract). */
export function describeDevicePresenceContract(harness: TestHarness, current: () => Store): void {
  const { describe, it, beforeEach } = harness;
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  describe("presence", () => {
    it("persists presence without touching updatedAt", async () => {
      const id = await seedDevice(store);
      await store.devices.setPresence(id, { online: true, connectedAt: T0 + 1, lastSeenAt: T0 + 1 });
      assertMatches(await store.devices.get(id), {
        online: true,
        connectedAt: T0 + 1,
        lastSeenAt: T0 + 1,
        updatedAt: T0,
      });
      // connectedAt omitted: kept; null: cleared.
      await store.devices.setPresence(id, { online: false, lastSeenAt: T0 + 9 });
      assertMatches(await store.devices.get(id), {
        online: false,
        connectedAt: T0 + 1,
        lastSeenAt: T0 + 9,
      });
      await store.devices.setPresence(id, { online: false, connectedAt: null, lastSeenAt: T0 + 10 });
      assertMatches(await store.devices.get(id), { connectedAt: null, lastSeenAt: T0 + 10 });
      await store.devices.setPresence(nextId(), { online: true, lastSeenAt: T0 });
    });

    it("an offline write with ifConnectedAt applies only while that session is the stored one", async () => {
      const id = await seedDevice(store);
      await store.devices.setPresence(id, { online: false, lastSeenAt: T0, ifConnectedAt: null });
      assert.equal((await store.devices.get(id))?.lastSeenAt, T0); // null matches never connected
      await store.devices.setPresence(id, { online: true, connectedAt: T0 + 1, lastSeenAt: T0 + 1 });
      // A newer session (elsewhere) went online meanwhile: the older one's offline is dropped.
      await store.devices.setPresence(id, { online: true, connectedAt: T0 + 5, lastSeenAt: T0 + 5 });
      await store.devices.setPresence(id, { online: false, lastSeenAt: T0 + 6, ifConnectedAt: T0 + 1 });
      assertMatches(await store.devices.get(id), {
        online: true,
        connectedAt: T0 + 5,
        lastSeenAt: T0 + 5,
      });
      await store.devices.setPresence(id, { online: false, lastSeenAt: T0 + 7, ifConnectedAt: T0 + 5 });
      assertMatches(await store.devices.get(id), {
        online: false,
        connectedAt: T0 + 5,
        lastSeenAt: T0 + 7,
      });
    });

    it("touches lastSeen for many devices, only ever forward", async () => {
      const a = await seedDevice(store);
      const b = await seedDevice(store);
      await store.devices.setPresence(b, { online: true, lastSeenAt: T0 + 100 });
      await store.devices.touchLastSeen([
        { id: a, lastSeenAt: T0 + 50 },
        { id: b, lastSeenAt: T0 + 60 },
        { id: nextId(), lastSeenAt: T0 },
        { id: "not-an-id", lastSeenAt: T0 },
      ]);
      assert.equal((await store.devices.get(a))?.lastSeenAt, T0 + 50);
      assert.equal((await store.devices.get(b))?.lastSeenAt, T0 + 100);
      await store.devices.touchLastSeen([]);
    });

    it("keeps the newest of repeated entries, in a batch of any size", async () => {
      const a = await seedDevice(store);
      const b = await seedDevice(store);
      // Unknown ids below and between the two spread them over several statements of a big batch.
      const unknown = Array.from({ length: 600 }, (_, i) => [
        String(i + 1),
        (BigInt(a) + BigInt(i + 1)).toString(),
      ])
        .flat()
        .map((id) => ({ id, lastSeenAt: T0 + 99 }));
      await store.devices.touchLastSeen([
        { id: a, lastSeenAt: T0 + 30 },
        { id: b, lastSeenAt: T0 + 5 },
        ...unknown,
        { id: a, lastSeenAt: T0 + 20 },
        { id: b, lastSeenAt: T0 + 40 },
      ]);
      assert.equal((await store.devices.get(a))?.lastSeenAt, T0 + 30);
      assert.equal((await store.devices.get(b))?.lastSeenAt, T0 + 40);
      assert.deepEqual(
        (await store.devices.list({ limit: 10 })).items.map((d) => d.id),
        [a, b],
      );
    });

    it("marks every online device offline at start-up and counts them", async () => {
      const seen = await seedDevice(store);
      const never = await seedDevice(store);
      const offline = await seedDevice(store);
      await store.devices.setPresence(seen, { online: true, connectedAt: T0, lastSeenAt: T0 + 7 });
      await store.devices.setPresence(offline, { online: false, lastSeenAt: T0 + 3 });
      await store.devices.update(never, { name: "n" }, T0);
      assert.equal(await store.devices.markAllOffline(T0 + 1000), 1);
      assertMatches(await store.devices.get(seen), { online: false, lastSeenAt: T0 + 7 });
      assertMatches(await store.devices.get(offline), { online: false, lastSeenAt: T0 + 3 });
      assert.equal(await store.devices.markAllOffline(T0 + 2000), 0);
    });
  });

  describe("delete", () => {
    it("deletes the device with its memberships, state, status, events and commands", async () => {
      const id = await seedDevice(store);
      const other = await seedDevice(store);
      const group = nextId();
      await store.groups.create({ id: group, name: "g", createdAt: T0 });
      await store.groups.addDevice(group, id);
      await store.groups.addDevice(group, other);
      await store.state.setDesired(id, { a: 1 }, 1, 0, T0);
      await store.status.insertBatch([{ deviceId: id, ts: T0, receivedAt: T0, data: { cpu: 1 } }]);
      await store.events.append([
        { id: nextId(), deviceId: id, ts: T0, kind: "registered", reason: null, data: null },
      ]);
      const commandId = nextId();
      await store.commands.create({
        id: commandId,
        deviceId: id,
        method: "system.ping",
        params: null,
        status: "QUEUED",
        result: null,
        error: null,
        timeoutMs: 1000,
        expiresAt: null,
        deadline: null,
        attempts: 0,
        acknowledgedAt: null,
        groupId: null,
        createdAt: T0,
        updatedAt: T0,
      });

      assert.equal(await store.devices.delete(id), true);
      assert.equal(await store.devices.delete(id), false);
      assert.equal(await store.devices.get(id), undefined);
      assert.equal(await store.devices.getCredentials(id), undefined);
      assert.deepEqual((await store.groups.listDeviceIds(group)).items, [other]);
      assertMatches(await store.state.get(id), { desired: {}, desiredVersion: 0 });
      assert.equal(await store.status.latest(id), undefined);
      assert.deepEqual(await store.status.history(id), []);
      assert.deepEqual((await store.events.list(id)).items, []);
      assert.equal(await store.commands.get(commandId), undefined);
      assert.notEqual(await store.devices.get(other), undefined);
    });
  });
}
