import type { DevicePdu, HubPdu, WelcomePdu } from "@cloudedge/protocol";
import type { SocketLike } from "../../src/transport.js";

/**
 * An in-memory socket the test drives as the hub: `open()`, `deliver(pdu)`, `serverClose()`.
 * What the client sends is decoded into `sent`.
 */
export class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: DevicePdu[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  terminated = false;

  constructor(readonly url: string) {}

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  deliver(pdu: HubPdu | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(pdu) });
  }

  deliverRaw(data: string): void {
    this.onmessage?.({ data });
  }

  /** The hub closes (close frame with code and reason). */
  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(JSON.parse(data) as DevicePdu);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedWith = {
      ...(code !== undefined ? { code } : {}),
      ...(reason !== undefined ? { reason } : {}),
    };
    queueMicrotask(() => this.onclose?.({ code: code ?? 1005, reason: reason ?? "" }));
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code: 1006, reason: "" }));
  }

  /** PDUs of one type the client sent. */
  of<T extends DevicePdu["type"]>(type: T): Extract<DevicePdu, { type: T }>[] {
    return this.sent.filter((pdu): pdu is Extract<DevicePdu, { type: T }> => pdu.type === type);
  }
}

/** Records every socket the client opens. */
export function fakeSockets(): {
  sockets: FakeSocket[];
  createSocket: (url: string) => FakeSocket;
  last: () => FakeSocket;
} {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    last: () => {
      const socket = sockets.at(-1);
      if (!socket) throw new Error("no socket opened yet");
      return socket;
    },
  };
}

/** A valid welcome with overridable fields. */
export function welcome(overrides: Partial<WelcomePdu> = {}, now = 1_700_000_000_000): WelcomePdu {
  return {
    type: "welcome",
    version: 1,
    sessionId: "s-1",
    deviceId: "1001",
    heartbeatMs: 1_000,
    token: "tok-1",
    tokenExpiresAt: now + 7 * 86_400_000,
    serverTime: now,
    maxFrameBytes: 262_144,
    reportedVersion: 0,
    ...overrides,
  };
}
