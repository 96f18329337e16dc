import type { Cloud, Device, IdGenerator, Store } from "@cloudedge/cloud-sdk";
import type { Logger } from "pino";
import type { ApiTokens } from "./http/auth.js";

/** What the HTTP layer is composed from; `createApp` takes it, tests build it freely. */
export interface AppDeps {
  cloud: Cloud;
  store: Store;
  tokens: ApiTokens;
  ids: IdGenerator;
  logger: Logger;
  /** Largest accepted request body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Serve /metrics. Default true. */
  metrics?: boolean;
  /** Require an API token on the original system's /service endpoints. Default true. */
  legacyAuth?: boolean;
  /** SSE keep-alive comment interval. Default 15 s. */
  sseHeartbeatMs?: number;
}

/** The device resource as the API shows it: persisted fields, live presence, groups; never a secret hash. */
export async function presentDevices(
  deps: AppDeps,
  devices: Device[],
): Promise<Array<Device & { groupIds: string[] }>> {
  const groups = await deps.store.groups.groupIdsOf(devices.map((d) => d.id));
  return devices.map((device) => ({
    ...device,
    online: device.online || deps.cloud.hub.session(device.id) !== undefined,
    groupIds: groups.get(device.id) ?? [],
  }));
}

export async function presentDevice(deps: AppDeps, device: Device): Promise<Device & { groupIds: string[] }> {
  return (await presentDevices(deps, [device]))[0] as Device & { groupIds: string[] };
}
