import { parseLabelSelector } from "../devices/label-selector.js";
import { CloudError, CloudErrorCode } from "../errors.js";
import { chunks } from "../repos/sql/batches.js";
import type { Store } from "../repos/types.js";
import type { JobTargets } from "./job-types.js";

/** Devices per page while resolving: what resolution holds in memory at once. */
const PAGE = 500;

/**
 * Throws CloudError(unknown_target, 400) naming every device or group id that does not exist,
 * then CloudError(empty_target_set, 400) when the targets select no device at all.
 */
export async function assertTargets(store: Store, targets: JobTargets): Promise<void> {
  await assertKnownTargets(store, targets);
  if (targets.deviceIds.length > 0) return;
  for (const groupId of targets.groupIds)
    if ((await store.groups.listDeviceIds(groupId, { limit: 1 })).items.length > 0) return;
  if (targets.selector !== null) {
    for await (const page of selectorPages(store, targets.selector)) if (page.length > 0) return;
  }
  throw new CloudError(CloudErrorCode.EMPTY_TARGET_SET, "the targets select no device", 400, true, {
    fields: [{ path: "targets", message: "no device matches" }],
  });
}

/** Throws CloudError(unknown_target, 400) naming every device or group id that does not exist. */
export async function assertKnownTargets(store: Store, targets: JobTargets): Promise<void> {
  const unknown: Array<{ path: string; message: string }> = [];
  for (const batch of chunks(targets.deviceIds, 100)) {
    const found = await Promise.all(batch.map((id) => store.devices.get(id)));
    found.forEach((device, i) => {
      if (!device)
        unknown.push({
          path: `targets.deviceIds[${targets.deviceIds.indexOf(batch[i] as string)}]`,
          message: "no such device",
        });
    });
  }
  const groups = await Promise.all(targets.groupIds.map((id) => store.groups.get(id)));
  groups.forEach((group, i) => {
    if (!group) unknown.push({ path: `targets.groupIds[${i}]`, message: "no such group" });
  });
  if (unknown.length > 0)
    throw new CloudError(
      CloudErrorCode.UNKNOWN_TARGET,
      "the job targets unknown devices or groups",
      400,
      true,
      {
        fields: unknown,
      },
    );
}

/** Pages of the device ids a selector matches, in id order; memory O(page). */
async function* selectorPages(store: Store, selector: string): AsyncGenerator<string[]> {
  const parsed = parseLabelSelector(selector, "targets.selector");
  let after: string | undefined;
  do {
    const page = await store.devices.list({ limit: PAGE, ...(after ? { after } : {}) });
    yield page.items.filter((d) => parsed.matches(d.labels)).map((d) => d.id);
    after = page.nextCursor;
  } while (after);
}

/** Pages of the device ids the targets name (devices, group members, selector matches); duplicates possible. */
export async function* targetPages(store: Store, targets: JobTargets): AsyncGenerator<string[]> {
  for (const batch of chunks(targets.deviceIds, PAGE)) yield batch;
  for (const groupId of targets.groupIds) {
    let after: string | undefined;
    do {
      const page = await store.groups.listDeviceIds(groupId, { limit: PAGE, ...(after ? { after } : {}) });
      yield page.items;
      after = page.nextCursor;
    } while (after);
  }
  if (targets.selector !== null) yield* selectorPages(store, targets.selector);
}

/**
 * Snapshot resolution: one PENDING execution per targeted device. Idempotent (the store keeps
 * one per (job, device)), so a resolution cut short by a restart is simply run again.
 */
export async function resolveTargets(
  store: Store,
  jobId: string,
  targets: JobTargets,
  now: number,
): Promise<void> {
  for await (const page of targetPages(store, targets))
    if (page.length > 0) await store.jobs.addExecutions(jobId, page, now);
}

/**
 * Whether the targets name this device now: by id, as a member of a target group (`groupId`:
 * the group it just joined, else every target group is asked), or by the selector on its labels.
 */
export async function targetsDevice(
  store: Store,
  targets: JobTargets,
  deviceId: string,
  groupId?: string,
): Promise<boolean> {
  if (targets.deviceIds.includes(deviceId)) return true;
  if (groupId !== undefined && targets.groupIds.includes(groupId)) return true;
  const device = await store.devices.get(deviceId);
  if (!device) return false;
  if (
    targets.selector !== null &&
    parseLabelSelector(targets.selector, "targets.selector").matches(device.labels)
  )
    return true;
  if (groupId !== undefined || targets.groupIds.length === 0) return false;
  const groups = (await store.groups.groupIdsOf([deviceId])).get(deviceId) ?? [];
  return groups.some((g) => targets.groupIds.includes(g));
}

/**
 * How many distinct devices the targets select now (the console's preview before creating a
 * job). Unlike a job's driver it holds the ids it counted, to count each device once.
 */
export async function countTargets(store: Store, targets: JobTargets): Promise<number> {
  const seen = new Set<string>();
  for await (const page of targetPages(store, targets)) for (const id of page) seen.add(id);
  return seen.size;
}
