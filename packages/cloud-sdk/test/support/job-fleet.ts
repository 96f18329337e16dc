import type { CmdPdu } from "@cloudedge/protocol";
import type { Cloud, JobView } from "../../src/index.js";
import { FakeDevice, hello, until } from "./fake-device.js";
import { settle } from "./manual-clock.js";

/** Fake devices send no heartbeats: long ones keep them online while virtual time runs. */
export const LONG_HEARTBEAT = { hub: { heartbeatMs: 3_600_000 } };

/** How a fleet device answers a command: succeed, fail with a code, or never answer. */
export type Answer = "succeed" | "silent" | { fail: string };

/** A device that answers every cmd at once (ack, then result) as `answer` says. */
export interface FleetDevice {
  id: string;
  secret: string;
  conn: FakeDevice;
  /** Command ids it received, in order (a redelivery repeats an id). */
  commands: string[];
}

/**
 * Registers `n` devices (ids ascending in registration order: the order a job dispatches
 * them in) and brings them online on in-memory connections that answer commands themselves.
 */
export async function fleet(
  cloud: Cloud,
  n: number,
  answer: (index: number, cmd: CmdPdu) => Answer = () => "succeed",
  labels: (index: number) => Record<string, string> = () => ({}),
): Promise<FleetDevice[]> {
  const devices: FleetDevice[] = [];
  for (let i = 0; i < n; i++) {
    const { device, secret } = await cloud.devices.register({ name: `d${i}`, labels: labels(i) });
    devices.push(await connect(cloud, { id: device.id, secret, commands: [] }, (cmd) => answer(i, cmd)));
  }
  return devices;
}

/** (Re)connects a fleet device to `cloud`'s hub, answering as `answer` says. */
export async function connect(
  cloud: Cloud,
  device: Omit<FleetDevice, "conn">,
  answer: (cmd: CmdPdu) => Answer,
): Promise<FleetDevice> {
  const conn = new FakeDevice(cloud.hub);
  const out: FleetDevice = { ...device, conn };
  const receive = conn.send.bind(conn);
  conn.send = (text: string) => {
    receive(text);
    const pdu = JSON.parse(text) as { type: string };
    if (pdu.type !== "cmd") return;
    const cmd = pdu as CmdPdu;
    out.commands.push(cmd.id);
    const a = answer(cmd);
    if (a === "silent") return;
    queueMicrotask(() => {
      conn.sendPdu({ type: "ack", id: cmd.id });
      conn.sendPdu(
        a === "succeed"
          ? { type: "result", id: cmd.id, ok: true, data: null }
          : { type: "result", id: cmd.id, ok: false, error: { code: a.fail, message: "failed" } },
      );
    });
  };
  conn.sendPdu(hello({ deviceId: device.id, secret: device.secret }));
  await until(() => conn.received.length > 0, "welcome");
  return out;
}

/** Polls (real time, no clock advance) until the job satisfies `condition`; returns it then. */
export async function untilJob(
  cloud: Cloud,
  jobId: string,
  condition: (job: JobView) => boolean,
  what = "job condition",
): Promise<JobView> {
  const started = performance.now();
  for (;;) {
    const job = await cloud.jobs.get(jobId);
    if (condition(job)) return job;
    if (performance.now() - started > 5_000)
      throw new Error(`timed out waiting for ${what}: ${job.status} ${JSON.stringify(job.counts)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The job as it stands once everything pending has settled. */
export async function settled(cloud: Cloud, jobId: string): Promise<JobView> {
  await settle(10);
  return cloud.jobs.get(jobId);
}

/** Distinct command ids each device received: a device executes a job's operation once means 1 each. */
export function distinctCommands(devices: FleetDevice[]): number[] {
  return devices.map((d) => new Set(d.commands).size);
}
