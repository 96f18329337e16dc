import { jsonClone } from "./json.js";
import { checkLengths } from "./text-limits.js";
import type { Device, DevicePatch, Hardware, NewDevice, Nic, Software } from "./types.js";

/** Credential generation of a new device; 0 is never issued, so a token carrying it is always stale. */
export const INITIAL_GENERATION = 1;

/** An empty serial number or model is no identity: stored as absent, so blanks never conflict. */
export function identityPart(value: string | undefined | null): string | undefined {
  return value === undefined || value === null || value === "" ? undefined : value;
}

/** The hardware block in its canonical shape (absent keys omitted, nics always an array). */
export function hardwareOf(
  serialNumber: string | undefined | null,
  model: string | undefined | null,
  nics: Nic[],
): Hardware {
  const hardware: Hardware = { nics };
  const serial = identityPart(serialNumber);
  const mdl = identityPart(model);
  if (serial !== undefined) hardware.serialNumber = serial;
  if (mdl !== undefined) hardware.model = mdl;
  return hardware;
}

function checkDeviceText(
  name: string | undefined,
  type: string | undefined,
  hardware: { serialNumber?: string | null; model?: string | null } | undefined,
): void {
  checkLengths("device", [
    ["/name", name],
    ["/type", type],
    ["/hardware/serialNumber", hardware?.serialNumber],
    ["/hardware/model", hardware?.model],
  ]);
}

/** The device a registration creates: offline, never seen, updatedAt = createdAt. */
export function deviceFromNew(input: NewDevice): Device {
  checkDeviceText(input.name, input.type, input.hardware);
  return {
    id: input.id,
    name: input.name,
    type: input.type ?? "",
    description: input.description ?? "",
    labels: jsonClone(input.labels ?? {}),
    disabled: input.disabled ?? false,
    hardware: hardwareOf(
      input.hardware?.serialNumber,
      input.hardware?.model,
      jsonClone(input.hardware?.nics ?? []),
    ),
    software: jsonClone(input.software ?? {}),
    online: false,
    connectedAt: null,
    lastSeenAt: null,
    createdAt: input.createdAt,
    updatedAt: input.createdAt,
  };
}

/**
 * Applies a PATCH: given fields replace (labels as a whole map), hardware and software merge
 * field by field (an empty serial/model clears it). Disabling an enabled device bumps the
 * credential generation so its resume tokens and session die.
 */
export function applyDevicePatch(
  current: Device,
  patch: DevicePatch,
  now: number,
): { device: Device; bumpGeneration: boolean } {
  const hw = patch.hardware;
  checkDeviceText(patch.name, patch.type, hw);
  const device: Device = {
    ...current,
    name: patch.name ?? current.name,
    type: patch.type ?? current.type,
    description: patch.description ?? current.description,
    labels: patch.labels !== undefined ? jsonClone(patch.labels) : current.labels,
    disabled: patch.disabled ?? current.disabled,
    hardware: hardwareOf(
      hw?.serialNumber !== undefined ? hw.serialNumber : current.hardware.serialNumber,
      hw?.model !== undefined ? hw.model : current.hardware.model,
      hw?.nics !== undefined ? jsonClone(hw.nics) : current.hardware.nics,
    ),
    software:
      patch.software !== undefined ? mergeSoftware(current.software, patch.software) : current.software,
    updatedAt: now,
  };
  return { device, bumpGeneration: device.disabled && !current.disabled };
}

function mergeSoftware(current: Software, patch: Software): Software {
  const merged: Software = { ...current };
  if (patch.version !== undefined) merged.version = patch.version;
  if (patch.lastUpdate !== undefined) merged.lastUpdate = patch.lastUpdate;
  return jsonClone(merged);
}
