import { type HelloPdu, PROTOCOL_VERSIONS, type WelcomePdu } from "@cloudedge/protocol";
import type { EdgeClientOptions } from "./client-options.js";
import type { ClientStore } from "./client-store.js";
import type { Credentials } from "./credentials.js";
import type { Logger } from "./logger.js";

/**
 * Who the device says it is (§4.1): builds `hello` from the identity and the best
 * credentials, and keeps what `welcome` grants (the resume token, the device id learnt when
 * the device identified by serial number and model).
 */
export class Handshake {
  /** The device id (configured, restored, or learnt from `welcome`). */
  deviceId: string | undefined;
  /** Whether the last `hello` resumed with a token rather than the secret. */
  viaToken = false;

  constructor(
    private readonly o: {
      options: EdgeClientOptions;
      bootId: string;
      credentials: Credentials;
      store: ClientStore;
      logger: Logger;
    },
  ) {
    this.deviceId = o.options.deviceId;
  }

  /** Takes the persisted device id unless one was configured. */
  restore(deviceId: string | undefined): void {
    if (!this.deviceId && deviceId) this.deviceId = deviceId;
  }

  /** The `hello` of a fresh socket; `desiredVersion` lets the hub skip an unchanged document. */
  hello(hubNow: number, desiredVersion: number): HelloPdu {
    const { options } = this.o;
    const credentials = this.o.credentials.forHello(hubNow);
    this.viaToken = credentials !== undefined && "token" in credentials;
    const identity = this.deviceId
      ? { deviceId: this.deviceId }
      : { serialNumber: options.serialNumber as string, model: options.model as string };
    const hello: HelloPdu = {
      type: "hello",
      versions: [...PROTOCOL_VERSIONS],
      ...identity,
      ...credentials,
      agent: options.agent ?? { name: "cloudedge-edge-sdk", version: "0.1.0" },
      bootId: this.o.bootId,
      desiredVersion,
      ...(options.hardware ? { hardware: options.hardware } : {}),
      ...(options.software ? { software: options.software } : {}),
    };
    this.o.logger.debug({ viaToken: this.viaToken, desiredVersion }, "hello");
    return hello;
  }

  /** Keeps the fresh token and the device id of a `welcome`, persisted. */
  accept(welcome: WelcomePdu): void {
    this.o.credentials.accept(welcome);
    this.o.store.saveQuietly("token");
    if (this.deviceId !== welcome.deviceId) {
      this.deviceId = welcome.deviceId;
      this.o.store.saveDeviceId(welcome.deviceId);
    }
  }
}

/** A fresh boot id when none is configured: a UUID where available, else 32 hex digits. */
export function randomBootId(random: () => number): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
}
