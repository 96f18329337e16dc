import { type CommandEvent, type CommandStatus, commandMachine } from "@cloudedge/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryStore, type Store } from "../src/index.js";
import { brokerClouds } from "./support/broker-clouds.js";
import { until } from "./support/fake-device.js";
import { settle } from "./support/manual-clock.js";

const clouds = brokerClouds();
afterEach(() => {
  vi.restoreAllMocks();
});

/** Every status the store is asked to write, as "from>to" ("QUEUED" for a new record). */
function statusWrites(store: Store): string[] {
  const writes: string[] = [];
  const create = store.commands.create.bind(store.commands);
  vi.spyOn(store.commands, "create").mockImplementation((command) => {
    if (command.status !== "QUEUED") writes.push(`QUEUED>${command.status}`);
    return create(command);
  });
  const transition = store.commands.transition.bind(store.commands);
  vi.spyOn(store.commands, "transition").mockImplementation((id, expected, patch, basis) => {
    if (patch.status !== undefined) writes.push(`${expected}>${patch.status}`);
    return transition(id, expected, patch, basis);
  });
  return writes;
}

/** The machine, answering as `answer` says (the real table by default), each answer recorded as "from>to". */
function machineAnswers(
  answer = (status: CommandStatus, event: CommandEvent) => real(status, event),
): string[] {
  const answers: string[] = [];
  vi.spyOn(commandMachine, "next").mockImplementation((status, event) => {
    const to = answer(status, event);
    if (to !== undefined) answers.push(`${status}>${to}`);
    return to;
  });
  return answers;
}
const real = commandMachine.next.bind(commandMachine);

/** How often each entry occurs. */
const tally = (items: string[]) =>
  items.reduce((m, i) => m.set(i, (m.get(i) ?? 0) + 1), new Map<string, number>());

describe("every status change goes through commandMachine (docs/architecture.md)", () => {
  it("each status written after QUEUED is one of the machine's answers", async () => {
    const store = createMemoryStore();
    const { cloud, online, clock } = await clouds.make({}, store);
    const { device, conn } = await online();
    const writes = statusWrites(store);
    const answers = machineAnswers();

    // Sent at once on a listed queue (stored SENT in one write), acked, answered.
    const ok = cloud.broker.sendAndWait(device.id, "a", null, { timeoutMs: 5_000 });
    await until(() => conn.of("cmd").length === 1, "cmd");
    conn.sendPdu({ type: "ack", id: conn.last("cmd")!.id });
    await settle();
    conn.sendPdu({ type: "result", id: conn.last("cmd")!.id, ok: true });
    expect((await ok).status).toBe("SUCCEEDED");
    // Timed out; and one queued for an offline device, canceled.
    const late = await cloud.broker.send(device.id, "b", null, { timeoutMs: 1_000 });
    await clock.advance(2_000);
    const { device: away } = await cloud.devices.register({ name: "away" });
    const queued = await cloud.broker.send(away.id, "c", null, { ttlMs: 60_000 });
    await cloud.broker.cancel(queued.id);
    expect((await cloud.broker.get(late.id)).status).toBe("TIMED_OUT");

    expect(writes).toEqual(
      expect.arrayContaining([
        "QUEUED>SENT",
        "SENT>DELIVERED",
        "DELIVERED>SUCCEEDED",
        "SENT>TIMED_OUT",
        "QUEUED>CANCELED",
      ]),
    );
    const granted = tally(answers);
    for (const [change, times] of tally(writes))
      expect(granted.get(change) ?? 0, change).toBeGreaterThanOrEqual(times);
  });

  it("a change the machine refuses is never written: a command it will not send stays QUEUED, unsent", async () => {
    const store = createMemoryStore();
    const { cloud, online } = await clouds.make({}, store);
    const { device, conn } = await online();
    const writes = statusWrites(store);
    machineAnswers((status, event) =>
      status === "QUEUED" && event === "send" ? undefined : real(status, event),
    );

    const command = await cloud.broker.send(device.id, "held", null, { ttlMs: 60_000 });
    await settle(10);
    expect(command.status).toBe("QUEUED");
    expect((await cloud.broker.get(command.id)).status).toBe("QUEUED");
    expect(conn.of("cmd")).toHaveLength(0);
    expect(writes).toEqual([]);
  });
});
