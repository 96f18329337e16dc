import type { DevicePatch, DeviceRepository, PresenceWrite } from "../repos/types.js";

/** One presence write as data, so a write the store refused can be retried or journaled. */
export type PresenceOp =
  | { op: "presence"; deviceId: string; write: PresenceWrite }
  | { op: "update"; deviceId: string; patch: DevicePatch; now: number }
  | { op: "touch"; entries: Array<{ id: string; lastSeenAt: number }> };

/** Applies one op as the live hub does. Every op is an upsert: applying it twice changes nothing. */
export async function applyPresenceOp(devices: DeviceRepository, op: PresenceOp): Promise<void> {
  switch (op.op) {
    case "presence":
      return devices.setPresence(op.deviceId, op.write);
    case "update":
      await devices.update(op.deviceId, op.patch, op.now);
      return;
    case "touch":
      return devices.touchLastSeen(op.entries);
  }
}

/**
 * Applies an op of an earlier run (journal replay). An online write is applied only while
 * no newer session is stored, as a compare-and-set on the stored connectedAt: in a cluster
 * the device may have reconnected to another node since, and that session must win.
 */
export async function replayPresenceOp(devices: DeviceRepository, op: PresenceOp): Promise<void> {
  if (op.op !== "presence" || !op.write.online || op.write.ifConnectedAt !== undefined)
    return applyPresenceOp(devices, op);
  const stored = await devices.get(op.deviceId);
  if (!stored) return;
  const connectedAt = op.write.connectedAt ?? null;
  if (stored.connectedAt !== null && connectedAt !== null && stored.connectedAt > connectedAt) return;
  await devices.setPresence(op.deviceId, { ...op.write, ifConnectedAt: stored.connectedAt });
}
