import type { JsonObject } from "@cloudedge/protocol";
import type { DeviceState, StateRepository } from "./types.js";

/** The state of a device nothing was ever stored for: empty documents at version 0. */
export function emptyState(deviceId: string): DeviceState {
  return { deviceId, desired: {}, desiredVersion: 0, reported: {}, reportedVersion: 0, updatedAt: 0 };
}

/** Which document of the twin. */
export type StateSide = "desired" | "reported";

/** The two conditional writes of StateRepository, expressed once over one compare-and-set. */
export abstract class VersionedStateRepository implements StateRepository {
  abstract get(deviceId: string): Promise<DeviceState>;
  abstract delete(deviceId: string): Promise<void>;
  /** Writes one side if its stored version is `expectedVersion`; false otherwise. */
  protected abstract compareAndSet(
    deviceId: string,
    side: StateSide,
    doc: JsonObject,
    version: number,
    expectedVersion: number,
    now: number,
  ): boolean | Promise<boolean>;

  async setDesired(
    deviceId: string,
    doc: JsonObject,
    version: number,
    expectedVersion: number,
    now: number,
  ): Promise<boolean> {
    return this.compareAndSet(deviceId, "desired", doc, version, expectedVersion, now);
  }

  async setReported(
    deviceId: string,
    doc: JsonObject,
    version: number,
    expectedVersion: number,
    now: number,
  ): Promise<boolean> {
    return this.compareAndSet(deviceId, "reported", doc, version, expectedVersion, now);
  }
}
