import { type DevicePdu, encode, type HubPdu, type PduType } from "@cloudedge/protocol";
import type { ConnectionHandle, DeviceConnection, DeviceHub } from "../../src/index.js";

/**
 * A device on an in-memory connection: what the hub sends is parsed and kept, closes are
 * recorded. Lets hub logic run under fake timers with no sockets.
 */
export class FakeDevice implements DeviceConnection {
  readonly received: HubPdu[] = [];
  closedWith: { code: number; reason: string | undefined } | undefined;
  bufferedAmount = 0;
  private readonly handle: ConnectionHandle;

  constructor(
    hub: DeviceHub,
    readonly remoteAddress = "10.0.0.1",
  ) {
    this.handle = hub.accept(this);
  }

  // DeviceConnection (the hub's side)
  send(text: string): void {
    this.received.push(JSON.parse(text) as HubPdu);
  }
  close(code: number, reason?: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    // The transport reports the close back, as ws does once the handshake completes.
    queueMicrotask(() => this.handle.closed(code));
  }
  terminate(): void {
    this.close(1006);
  }

  // the device's side
  sendPdu(pdu: DevicePdu): void {
    this.handle.message(encode(pdu));
  }
  sendRaw(data: string | Uint8Array): void {
    this.handle.message(data);
  }
  /** The device drops the connection (code 1006 = no close frame, 1000 = clean). */
  hangUp(code = 1006): void {
    this.closedWith ??= { code, reason: undefined };
    this.handle.closed(code);
  }
  of<T extends PduType>(type: T): Array<Extract<HubPdu, { type: T }>> {
    return this.received.filter((pdu): pdu is Extract<HubPdu, { type: T }> => pdu.type === type);
  }
  last<T extends PduType>(type: T): Extract<HubPdu, { type: T }> | undefined {
    return this.of(type).at(-1);
  }
}

export const hello = (fields: Record<string, unknown>): DevicePdu =>
  ({
    type: "hello",
    versions: [1],
    agent: { name: "test-agent", version: "1.0.0" },
    bootId: "boot-1",
    desiredVersion: 0,
    ...fields,
  }) as DevicePdu;

/** Lets promise chains (auth, store writes) settle. bcrypt runs in the thread pool, so poll. */
export async function until(condition: () => boolean, what = "condition", timeoutMs = 5_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
