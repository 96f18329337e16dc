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
    private readonly deps: {
      options: EdgeClientOptions;
      bootId: string;
      credentials: Credentials;
      store: ClientStore;
      logger: Logger;
    },
  ) {
    this.deviceId = deps.options.deviceId;
  }

  /** Takes the persisted device id unless one was configured. */
  restore(deviceId: string | undefined): void {
    if (!this.deviceId && deviceId) this.deviceId = deviceId;
  }

  /** The `hello` of a fresh socket; `desiredVersion` lets the hub skip an unchanged document. */
  hello(hubNow: number, desiredVersion: number): HelloPdu {
    const { options } = this.deps;
    const credentials = this.deps.credentials.forHello(hubNow);
    this.viaToken = credentials !== undefined && "token" in credentials;
    const identity = this.deviceId
      ? { deviceId: this.deviceId }
      : { serialNumber: options.serialNumber as string, model: options.model as string };
    const hardware = typeof options.hardware === "function" ? options.hardware() : options.hardware;
    const hello: HelloPdu = {
      type: "hello",
      versions: [...PROTOCOL_VERSIONS],
      ...identity,
      ...credentials,
      agent: options.agent ?? { name: "cloudedge-edge-sdk", version: "0.1.0" },
      bootId: this.deps.bootId,
      desiredVersion,
      ...(hardware ? { hardware } : {}),
      ...(options.software ? { software: options.software } : {}),
    };
    this.deps.logger.debug({ viaToken: this.viaToken, desiredVersion }, "hello");
    return hello;
  }

  /** Keeps the fresh token and the device id of a `welcome`, persisted. */
  accept(welcome: WelcomePdu): void {
    this.deps.credentials.accept(welcome);
    this.deps.store.saveQuietly("token");
    if (this.deviceId !== welcome.deviceId) {
      this.deviceId = welcome.deviceId;
      this.deps.store.saveDeviceId(welcome.deviceId);
    }
  }
}

/** A fresh boot id when none is configured: a UUID where available, else 32 hex digits. */
export function randomBootId(random: () => number): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
}
