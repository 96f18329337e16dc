import { CloudError, CloudErrorCode } from "../errors.js";
import type { CommandRecord } from "../repos/types.js";

/**
 * A command that did not succeed. `code` says why (device_offline, delivery_timeout,
 * result_timeout, command_expired, command_canceled, device_error); `command` is the
 * stored record, whose id stays queryable.
 */
export class CommandFailedError extends CloudError {
  override readonly name: string = "CommandFailedError";
  constructor(
    code: CloudErrorCode,
    message: string,
    status: number,
    readonly command: CommandRecord,
    details: Record<string, unknown> = {},
  ) {
    const deviceError = code === CloudErrorCode.DEVICE_ERROR ? { deviceError: command.error } : {};
    super(code, message, status, true, { commandId: command.id, ...deviceError, ...details });
  }
}

/**
 * A wait that ended before the command's outcome (504 result_timeout): the command goes on
 * (`command` as it stood then), and its id and status say where to look for the outcome.
 */
export class CommandWaitTimeoutError extends CommandFailedError {
  override readonly name: string = "CommandWaitTimeoutError";
  constructor(command: CommandRecord, message = "no outcome before the deadline") {
    super(CloudErrorCode.RESULT_TIMEOUT, message, 504, command, { commandStatus: command.status });
  }
}

/** The error a terminal, unsuccessful command stands for. */
export function errorForCommand(command: CommandRecord): CommandFailedError | undefined {
  switch (command.status) {
    case "SUCCEEDED":
      return undefined;
    case "FAILED":
      if (command.error?.code === CloudErrorCode.DEVICE_OFFLINE) {
        return new CommandFailedError(CloudErrorCode.DEVICE_OFFLINE, "the device is offline", 409, command);
      }
      return new CommandFailedError(
        CloudErrorCode.DEVICE_ERROR,
        command.error?.message ?? "the device reported an error",
        502,
        command,
      );
    case "TIMED_OUT":
      return command.error?.code === CloudErrorCode.RESULT_TIMEOUT
        ? new CommandFailedError(
            CloudErrorCode.RESULT_TIMEOUT,
            "the device acknowledged but did not answer in time",
            504,
            command,
          )
        : new CommandFailedError(
            CloudErrorCode.DELIVERY_TIMEOUT,
            "the device did not acknowledge in time",
            504,
            command,
          );
    case "EXPIRED":
      return new CommandFailedError(
        CloudErrorCode.COMMAND_EXPIRED,
        "the command expired while the device was offline",
        410,
        command,
      );
    case "CANCELED":
      return new CommandFailedError(
        CloudErrorCode.COMMAND_CANCELED,
        "the command was canceled",
        409,
        command,
      );
    default:
      return undefined;
  }
}
