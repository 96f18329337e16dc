import type { DeviceState } from "./types.js";

/** The state of a device nothing was ever stored for: empty documents at version 0. */
export function emptyState(deviceId: string): DeviceState {
  return { deviceId, desired: {}, desiredVersion: 0, reported: {}, reportedVersion: 0, updatedAt: 0 };
}
