import { isTerminalStatus } from "@cloudedge/protocol";
import type { BusReply } from "../cluster/cluster-bus.js";
import { CloudError, CloudErrorCode } from "../errors.js";
import type { CommandRecord } from "../repos/types.js";
import type { BrokerLink } from "./broker-link.js";
import { CommandFailedError, errorForCommand } from "./command-errors.js";
import type { CommandLedger } from "./command-ledger.js";

/**
 * Takes a command just drafted to its device: the node holding the device stores it as it
 * sends it (one write where a stored QUEUED command and its sending took two); whoever
 * else finds it unstored stores it here — QUEUED for a device that may come back (TTL),
 * failed at once (device_offline) for one without a TTL that nobody holds. Resolves with
 * the command as it stands; `track` learns of a command the holder wrote.
 */
export async function routeCommand(
  command: CommandRecord,
  ledger: CommandLedger,
  link: BrokerLink,
  track: (command: CommandRecord) => void,
): Promise<CommandRecord> {
  let reply: BusReply | "no_responders";
  try {
    reply = await link.deliver(command.deviceId, { command, unsaved: true });
  } catch (error) {
    return unrouted(command, error, ledger);
  }
  if (reply !== "no_responders" && reply.ok && reply.saved) {
    // The holder answers with the version it wrote on sending it; otherwise (queued, or
    // sent by a listing that found it) the store says where it stands.
    const sent = reply.command?.id === command.id ? reply.command : await ledger.find(command.id);
    // Tracked with its deadline: should its outcome's event never arrive, the sweep reads it then.
    if (sent && !isTerminalStatus(sent.status)) track(sent);
    return sent ?? command;
  }
  // Nobody took it on: nobody holds the device, or the holder could not (its session was
  // ending, its store failed, it answered too late, or it is an older node that stores
  // nothing for its creators). Stored here, QUEUED — unless the holder stored it meanwhile.
  const stored = await ledger.store(command);
  if (stored === command && reply === "no_responders" && command.expiresAt === null) {
    // [DESIGN: commands] without a TTL, an offline device fails at once, distinctly.
    const failed = await ledger.move(command, "fail", {
      error: { code: CloudErrorCode.DEVICE_OFFLINE, message: "the device is offline" },
    });
    const final = failed ?? (await ledger.get(command.id));
    throw (
      errorForCommand(final) ??
      new CommandFailedError(CloudErrorCode.DEVICE_OFFLINE, "the device is offline", 409, final)
    );
  }
  if (stored.status !== "QUEUED") return stored;
  // A session that listed the queue while this was unstored has missed it: whoever holds
  // the device now lists its queue again (a session that starts later lists it anyway).
  const again = await link.deliver(command.deviceId).catch(() => undefined);
  if (again === "no_responders") return stored; // still nobody: QUEUED as stored
  return (await ledger.find(command.id)) ?? stored;
}

/**
 * The bus could not ask (e.g. NATS is down): the caller gets the error, so the command must
 * not run later behind its back — unless the holder got it after all.
 */
async function unrouted(
  command: CommandRecord,
  error: unknown,
  ledger: CommandLedger,
): Promise<CommandRecord> {
  const code = error instanceof CloudError ? error.code : CloudErrorCode.CLUSTER_UNAVAILABLE;
  const stored = await ledger.store(command).catch(() => undefined);
  if (!stored) throw error;
  const failed =
    stored.status === "QUEUED"
      ? await ledger
          .move(stored, "fail", { error: { code, message: "the command could not be routed" } })
          .catch(() => undefined)
      : undefined;
  if (failed) throw error;
  // On its way to the device (or already done): say where it stands, not that it failed.
  return (await ledger.find(command.id).catch(() => undefined)) ?? stored;
}
