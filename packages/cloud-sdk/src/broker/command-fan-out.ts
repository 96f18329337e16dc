import { CloudError, CloudErrorCode, NotFoundError } from "../errors.js";
import type { CommandRecord, GroupRepository } from "../repos/types.js";
import { CommandFailedError } from "./command-errors.js";
import type { FanOutItem, SendOptions } from "./command-types.js";

/** Sends one device its command of the fan-out. */
export type SendOne = (deviceId: string, options: SendOptions) => Promise<CommandRecord>;

/**
 * Sends to every member of a group, at most `concurrency` at a time (default 16); one entry
 * per device, in member order, with its command id and status or the error that stopped it.
 */
export async function fanOut(
  groups: GroupRepository,
  groupId: string,
  send: SendOne,
  options: SendOptions & { concurrency?: number } = {},
): Promise<FanOutItem[]> {
  const group = await groups.get(groupId);
  if (!group) throw new NotFoundError(CloudErrorCode.GROUP_NOT_FOUND, "no such group");
  const deviceIds = await memberIds(groups, groupId);
  const { concurrency, ...sendOptions } = options;
  const items: FanOutItem[] = new Array(deviceIds.length);
  let next = 0;
  const worker = async () => {
    while (next < deviceIds.length) {
      const index = next++;
      const deviceId = deviceIds[index] as string;
      try {
        const command = await send(deviceId, { ...sendOptions, groupId });
        items[index] = { deviceId, commandId: command.id, status: command.status };
      } catch (error) {
        items[index] = { deviceId, ...failure(error) };
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency ?? 16, deviceIds.length)) }, worker),
  );
  return items;
}

async function memberIds(groups: GroupRepository, groupId: string): Promise<string[]> {
  const deviceIds: string[] = [];
  let after: string | undefined;
  do {
    const page = await groups.listDeviceIds(groupId, { limit: 1000, ...(after ? { after } : {}) });
    deviceIds.push(...page.items);
    after = page.nextCursor;
  } while (after);
  return deviceIds;
}

/** A device's entry when sending failed: the command it made, if any, and a stable code. */
function failure(error: unknown): Omit<FanOutItem, "deviceId"> {
  const code = error instanceof CloudError ? error.code : "internal_error";
  const message = error instanceof CloudError ? error.message : "unexpected error";
  return {
    ...(error instanceof CommandFailedError
      ? { commandId: error.command.id, status: error.command.status }
      : {}),
    error: { code, message },
  };
}
