import { type BusReply, type BusRequest, type CloudEvent, LocalClusterBus } from "../../src/index.js";

/**
 * Two in-process "nodes", each with its own bus: an event published on either reaches the
 * subscribers of both (as every node receives every node's events), and a request reaches
 * whichever node holds the device.
 */
export class PeerBus extends LocalClusterBus {
  peer: PeerBus | undefined;

  static pair(): [PeerBus, PeerBus] {
    const a = new PeerBus("node-a");
    const b = new PeerBus("node-b");
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  override async publish(event: CloudEvent): Promise<void> {
    await super.publish(event);
    await this.peer?.deliverHere(event);
  }

  override async request(deviceId: string, request: BusRequest): Promise<BusReply | "no_responders"> {
    const here = await super.request(deviceId, request);
    return here !== "no_responders" || !this.peer ? here : this.peer.requestHere(deviceId, request);
  }

  private deliverHere(event: CloudEvent): Promise<void> {
    return super.publish(event);
  }

  private requestHere(deviceId: string, request: BusRequest): Promise<BusReply | "no_responders"> {
    return super.request(deviceId, request);
  }
}
