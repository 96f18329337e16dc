// The floor under a cross-node command: the NATS hops it adds, with no cloudedge code. The
// node holding the devices answers a request at once and then publishes an event; the
// other node measures, open loop, from the intended start until it has both the reply and
// the event — the shape of a cross-node command's extra path (the deliver request and its
// reply, then the outcome event). Payloads are the size of a command record.
import { connect } from "nats";
import { openLoop } from "./rpc-driver.mjs";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** About the JSON size of a bench command record. */
const PAYLOAD = 320;

/** Node B's side: echo each request, then publish it as an event. */
export async function natsEcho({ servers, subject }) {
  const nc = await connect({ servers, name: "bench-nats-echo", noAsyncTraces: true });
  nc.subscribe(`${subject}.req`, {
    callback: (err, msg) => {
      if (err) return;
      msg.respond(msg.data);
      nc.publish(`${subject}.ev`, msg.data);
    },
  });
  await nc.flush();
  return { close: () => nc.close() };
}

/** Node A's side: `rate` request-then-event round trips per second, open loop. */
export async function natsProbe({ servers, subject, rate, durationS, warmupS = 1, timeoutMs = 10_000 }) {
  const nc = await connect({ servers, name: "bench-nats-probe", noAsyncTraces: true });
  const waiting = new Map();
  nc.subscribe(`${subject}.ev`, {
    callback: (err, msg) => {
      if (err) return;
      const i = Number(decoder.decode(msg.data.subarray(0, 12)).trim());
      const done = waiting.get(i);
      waiting.delete(i);
      done?.();
    },
  });
  await nc.flush();
  try {
    return await openLoop({ rate, durationS, warmupS }, async (i) => {
      const event = new Promise((resolve) => waiting.set(i, resolve));
      const body = encoder.encode(String(i).padEnd(12, " ").padEnd(PAYLOAD, "x"));
      await nc.request(`${subject}.req`, body, { timeout: timeoutMs });
      await event;
    });
  } finally {
    await nc.close();
  }
}
