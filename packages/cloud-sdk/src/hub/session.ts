import { encode, type HubPdu } from "@cloudedge/protocol";
import type { PresenceReason } from "../events.js";
import type { DeviceConnection } from "./connection.js";

/** One authenticated device session on this hub. */
export class Session {
  /** Hub time of the last PDU received: any PDU counts as liveness. */
  lastSeen: number;
  /** Set when the hub (or a bye from the device) decided why this session ends. */
  closeReason: PresenceReason | undefined;
  /** The desired-state version the device holds as far as the hub has told it. */
  desiredVersion = 0;
  /** True once the hub stopped using this session (it may still be closing on the wire). */
  closed = false;

  constructor(
    readonly id: string,
    readonly deviceId: string,
    readonly connection: DeviceConnection,
    readonly connectedAt: number,
    readonly bootId: string,
    readonly agent: { name: string; version: string },
    readonly protocolVersion: number,
  ) {
    this.lastSeen = connectedAt;
  }

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  /** Encodes (validating) and sends; false when the session is closed. */
  send(pdu: HubPdu): boolean {
    if (this.closed) return false;
    this.connection.send(encode(pdu));
    return true;
  }
}
