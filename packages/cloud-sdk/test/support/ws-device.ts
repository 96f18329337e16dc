import {
  type DevicePdu,
  decode,
  encode,
  type HubPdu,
  type PduType,
  type WelcomePdu,
} from "@cloudedge/protocol";
import WebSocket from "ws";

/** A device over a real WebSocket, speaking protocol v1 through @cloudedge/protocol. */
export class WsDevice {
  readonly received: HubPdu[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const result = decode(data, { from: "hub" });
      if (result.ok) this.received.push(result.pdu as HubPdu);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
    ws.on("error", () => {});
  }

  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<WsDevice> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const device = new WsDevice(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("close", () => resolve());
    });
    return device;
  }

  send(pdu: DevicePdu): void {
    this.ws.send(encode(pdu));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** The next PDU of a type not yet taken, waiting up to timeoutMs. */
  async next<T extends PduType>(type: T, timeoutMs = 5_000): Promise<Extract<HubPdu, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex((pdu) => pdu.type === type);
      if (index >= 0) return this.received.splice(index, 1)[0] as Extract<HubPdu, { type: T }>;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`closed while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Opens a session: hello, then waits for welcome. */
  static async connect(
    url: string,
    helloFields: Record<string, unknown>,
  ): Promise<{ device: WsDevice; welcome: WelcomePdu }> {
    const device = await WsDevice.open(url);
    device.send({
      type: "hello",
      versions: [1],
      agent: { name: "ws-test", version: "1" },
      bootId: "b",
      desiredVersion: 0,
      ...helloFields,
    } as DevicePdu);
    const welcome = await device.next("welcome");
    return { device, welcome };
  }

  close(code = 1000): Promise<{ code: number; reason: string }> {
    this.ws.close(code);
    return this.closed;
  }
}
