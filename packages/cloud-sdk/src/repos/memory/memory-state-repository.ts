import type { JsonObject } from "@cloudedge/protocol";
import { CloudErrorCode, NotFoundError } from "../../errors.js";
import { jsonClone } from "../json.js";
import { emptyState, VersionedStateRepository } from "../state-model.js";
import type { DeviceState } from "../types.js";
import type { MemoryTables } from "./memory-tables.js";

/** Desired/reported documents per device with compare-and-set on their versions. */
export class MemoryStateRepository extends VersionedStateRepository {
  constructor(private readonly t: MemoryTables) {
    super();
  }

  async get(deviceId: string): Promise<DeviceState> {
    this.t.assertOpen();
    return jsonClone(this.t.states.get(deviceId) ?? emptyState(deviceId));
  }

  async delete(deviceId: string): Promise<void> {
    this.t.assertOpen();
    this.t.states.delete(deviceId);
  }

  protected compareAndSet(
    deviceId: string,
    side: "desired" | "reported",
    doc: JsonObject,
    version: number,
    expectedVersion: number,
    now: number,
  ): boolean {
    this.t.assertOpen();
    if (!this.t.devices.has(deviceId))
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
    const state = this.t.states.get(deviceId) ?? emptyState(deviceId);
    const current = side === "desired" ? state.desiredVersion : state.reportedVersion;
    if (current !== expectedVersion) return false;
    if (side === "desired") {
      state.desired = jsonClone(doc);
      state.desiredVersion = version;
    } else {
      state.reported = jsonClone(doc);
      state.reportedVersion = version;
    }
    state.updatedAt = now;
    this.t.states.set(deviceId, state);
    return true;
  }
}
