import type { CmdPdu, ResultPdu } from "@cloudedge/protocol";
import { WsDevice } from "../../support/ws-device.js";

export type CommandBehaviour = "answer" | "ack-only";

/**
 * A protocol-speaking device that behaves like the reference agent where a cluster test
 * needs it: it reconnects (to the next hub URL in its list, with a little jitter) when its
 * connection drops, acks every cmd, answers it (or only acks, to leave it in flight), and
 * dedupes by command id — a redelivered cmd it already finished gets the stored result.
 */
export class WsAgent {
  device: WsDevice | undefined;
  readonly closes: number[] = [];
  readonly cmds: CmdPdu[] = [];
  readonly sessions: string[] = [];
  behaviour: CommandBehaviour = "answer";
  /** Index into urls of the hub the agent is (or was last) connected to. */
  at = 0;
  private readonly results = new Map<string, ResultPdu>();
  private stopped = false;
  private reconnecting: Promise<void> | undefined;

  constructor(
    readonly deviceId: string,
    readonly secret: string,
    readonly urls: () => string[],
  ) {}

  /** Connects to urls()[index]. */
  async connect(index: number): Promise<void> {
    this.at = index;
    const url = this.urls()[index % this.urls().length] as string;
    const device = await WsDevice.open(url);
    let sessionId: string;
    let heartbeatMs: number;
    try {
      device.send({
        type: "hello",
        versions: [1],
        deviceId: this.deviceId,
        secret: this.secret,
        agent: { name: "ws-agent", version: "1" },
        bootId: "b",
        desiredVersion: 0,
      });
      const welcome = await device.next("welcome", 10_000);
      sessionId = welcome.sessionId;
      heartbeatMs = welcome.heartbeatMs;
    } catch (error) {
      // Never leave a half-open attempt behind: its late welcome would replace the next session.
      device.ws.terminate();
      throw error;
    }
    this.device = device;
    this.sessions.push(sessionId);
    void this.pump(device);
    // Heartbeat as an agent does (§4.3): a silent session is closed by the hub after 2.5 intervals.
    let seq = 0;
    const pinger = setInterval(() => {
      try {
        device.send({ type: "ping", seq: seq++ });
      } catch {
        // closing
      }
    }, heartbeatMs / 2);
    void device.closed.then(({ code }) => {
      clearInterval(pinger);
      this.closes.push(code);
      if (this.device !== device) return; // an older connection of ours
      this.device = undefined;
      // 1000: the test closed it on purpose; 4003/4006: credentials revoked. Anything else
      // (a dead hub, 4004, 4009, …) gets a reconnect, as the protocol advises.
      if (!this.stopped && ![1000, 4003, 4006].includes(code)) this.reconnect();
    });
  }

  /** Reconnects to the next URL, trying others until one takes it. */
  reconnect(): void {
    if (this.reconnecting || this.stopped) return;
    this.reconnecting = (async () => {
      for (let attempt = 1; !this.stopped; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 200));
        try {
          await this.connect(this.at + attempt);
          return;
        } catch {
          // that hub is gone or refused: try the next one
        }
      }
    })().finally(() => {
      this.reconnecting = undefined;
    });
  }

  private async pump(device: WsDevice): Promise<void> {
    for (;;) {
      let cmd: CmdPdu;
      try {
        cmd = await device.next("cmd", 600_000);
      } catch {
        return; // closed
      }
      this.cmds.push(cmd);
      device.send({ type: "ack", id: cmd.id });
      const done = this.results.get(cmd.id);
      if (done) {
        device.send(done);
        continue;
      }
      if (this.behaviour === "ack-only") continue;
      const result: ResultPdu = {
        type: "result",
        id: cmd.id,
        ok: true,
        data: { by: this.deviceId, method: cmd.method },
      };
      this.results.set(cmd.id, result);
      device.send(result);
    }
  }

  /** Stops reconnecting without closing: when its hub dies, the device stays away. */
  stayDown(): void {
    this.stopped = true;
  }

  /** Stops reconnecting and closes (the device goes away for good). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.device?.close();
  }
}
