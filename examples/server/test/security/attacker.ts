import type { ErrorPdu, WelcomePdu } from "@cloudedge/protocol";
import { parseRetryAfter } from "@cloudedge/protocol";
import { WsDevice } from "../../../../packages/cloud-sdk/test/support/ws-device.js";

/** What one handshake ended with, as the client sees it. */
export interface Seen {
  welcome?: WelcomePdu;
  error?: ErrorPdu;
  /** The close code; undefined while a welcomed session is still open. */
  code?: number;
  retryAfterMs?: number;
  device: WsDevice;
}

/**
 * One handshake over a real WebSocket: `hello` with the given fields, then whatever the hub
 * answers. `from` is the client address a trusted proxy would forward (X-Forwarded-For).
 */
export async function tryHello(url: string, fields: Record<string, unknown>, from?: string): Promise<Seen> {
  const device = await WsDevice.open(url, from ? { headers: { "X-Forwarded-For": from } } : {});
  device.send({
    type: "hello",
    versions: [1],
    agent: { name: "attacker", version: "1" },
    bootId: "b",
    desiredVersion: 0,
    ...fields,
  } as never);
  const outcome = await Promise.race([
    device.next("welcome").then((welcome) => ({ welcome })),
    device.closed.then(() => ({})),
  ]);
  if ("welcome" in outcome) return { welcome: outcome.welcome, device };
  const closed = await device.closed;
  const error = device.received.find((pdu): pdu is ErrorPdu => pdu.type === "error");
  const retryAfterMs = parseRetryAfter(closed.reason);
  return {
    ...(error ? { error } : {}),
    code: closed.code,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    device,
  };
}

/** Close code and error code of an outcome, e.g. "4010 rate_limited" or "welcome". */
export const summary = (seen: Seen): string =>
  seen.welcome ? "welcome" : `${seen.code} ${seen.error?.code ?? "-"}`;
