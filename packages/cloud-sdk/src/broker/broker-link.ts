import type { DecodeLimits, DocumentLimits, HubPdu, ResultPdu } from "@cloudedge/protocol";
import type { BusReply, BusRequest, ClusterBus } from "../cluster/cluster-bus.js";
import type { CloudEvent } from "../events.js";
import type { DeviceHub } from "../hub/device-hub.js";
import type { Session } from "../hub/session.js";
import type { CommandRecord } from "../repos/types.js";

/** A `deliver` request as the holder of a device receives it. */
export type DeliverRequest = Omit<Extract<BusRequest, { kind: "deliver" }>, "kind">;

/** What the broker does when the hub or the bus reports something. */
export interface BrokerLinkHandlers {
  /** A session is online (welcome sent): its queue may flow. */
  online(session: Session): void;
  /** A session ended. */
  offline(deviceId: string, sessionId: string): void;
  /** The device acknowledged a command. */
  ack(session: Session, commandId: string): void;
  /** The device answered a command. */
  result(session: Session, pdu: ResultPdu): void;
  /** Some node (this one too) asks this node, which holds the device, to send it its queue. */
  deliver(session: Session, request: DeliverRequest): Promise<BusReply>;
  /** A command changed on some node (this node's own changes arrive here too, at once). */
  command(command: CommandRecord): void;
}

/**
 * Everything the broker asks of the device hub and the cluster bus, in one place: the rest
 * of the broker sees devices, sessions and command events, not how the hub and bus are
 * wired (listeners, request handlers, presence), so a change to their APIs ends here.
 */
export class BrokerLink {
  private unsubscribe: () => void = () => {};

  constructor(
    private readonly hub: DeviceHub,
    private readonly bus: ClusterBus,
  ) {}

  /** Starts routing hub and bus events to the handlers. */
  attach(handlers: BrokerLinkHandlers): void {
    const { hub, bus } = this;
    hub.on("online", (session) => handlers.online(session));
    hub.on("presence", (event) => {
      if (!event.online) handlers.offline(event.deviceId, event.sessionId);
    });
    hub.on("pdu", (session, pdu) => {
      if (pdu.type === "ack") handlers.ack(session, pdu.id);
      else if (pdu.type === "result") handlers.result(session, pdu);
    });
    const unserve = hub.serve("deliver", (session, request) => handlers.deliver(session, request));
    const unsubscribe = bus.subscribe((event) => {
      if (event.type === "command") handlers.command(event.command);
    });
    this.unsubscribe = () => {
      unserve();
      unsubscribe();
    };
  }

  /**
   * Whether a session may have been on another node: only a bus with cluster-wide presence
   * spans nodes (on one node, recovery and the lost session's requeue cover it all).
   */
  get clustered(): boolean {
    return this.bus.presence.shared;
  }

  /**
   * Whether a device is held by some live node of the cluster (never, on a bus without
   * presence); answers are cached for the returned function's lifetime (one recovery).
   */
  heldElsewhere(): (deviceId: string) => Promise<boolean> {
    const { bus } = this;
    const cache = new Map<string, Promise<boolean>>();
    return (deviceId) => {
      if (!bus.presence.shared) return Promise.resolve(false);
      let answer = cache.get(deviceId);
      if (!answer) {
        answer = bus.presence.locate(deviceId).then((node) => node !== undefined);
        cache.set(deviceId, answer);
      }
      return answer;
    };
  }

  /** Asks whichever node holds the device to send it its queue (and `request.command`). */
  deliver(deviceId: string, request: DeliverRequest = {}): Promise<BusReply | "no_responders"> {
    return this.bus.request(deviceId, { kind: "deliver", ...request });
  }

  /** `deliver` for its effect only: a holder, if any, lists the device's queue again. */
  nudge(deviceId: string): void {
    void this.deliver(deviceId).catch(() => undefined);
  }

  /** Announces a command's change to every node. */
  publish(command: CommandRecord): void {
    const event: CloudEvent = { type: "command", deviceId: command.deviceId, at: command.updatedAt, command };
    void this.bus.publish(event).catch(() => {});
  }

  /** Writes a PDU to the device's session on this node; false when there is none or it failed. */
  send(deviceId: string, pdu: HubPdu): boolean {
    return this.hub.send(deviceId, pdu);
  }

  /** The device's session on this node, if any. */
  session(deviceId: string): Session | undefined {
    return this.hub.session(deviceId);
  }

  /** The protocol limits the hub's sessions enforce (a command must fit them). */
  get limits(): DecodeLimits {
    return this.hub.limits;
  }

  /** The document limits params must keep. */
  get documentLimits(): DocumentLimits {
    return this.hub.documentLimits;
  }

  /** Stops serving deliveries and receiving bus events. */
  close(): void {
    this.unsubscribe();
  }
}
