import { expect } from "vitest";
import type { PrivateMariadb } from "../../support/private-mariadb.js";
import type { Proc } from "../../support/processes.js";
import type { Device, Rig, SeenEvent } from "./rig.js";
import { until } from "./rig.js";

/** Writes per kind, as the server logs them. */
export type Counts = { status: number; event: number; presence: number };

/** `field` of every log line with `msg`, summed (one line per worker in a cluster). */
export function summed(rig: Rig, proc: Proc, msg: string, field?: string): Counts {
  const total: Counts = { status: 0, event: 0, presence: 0 };
  for (const line of rig.logs(proc, msg)) {
    const counts = (field ? line[field] : line) as Counts;
    for (const kind of Object.keys(total) as Array<keyof Counts>) total[kind] += counts[kind] ?? 0;
  }
  return total;
}

/** Stored status history of a device (ts only). */
export async function storedReports(rig: Rig, deviceId: string): Promise<number[]> {
  const page = await rig.api("GET", `/api/v1/devices/${deviceId}/status/history?limit=10000`);
  return (page.body.items as Array<{ ts: number }>).map((s) => s.ts);
}

/**
 * Hangs the database (SIGSTOP) while the agents report, then SIGTERMs the server: it must
 * exit 0 having journaled everything it held (the reports of the outage, each device's
 * disconnect in the event log and in presence), losing nothing.
 */
export async function sigtermWhileHung(rig: Rig, db: PrivateMariadb, agents: number) {
  db.pause();
  // Reports from here on cannot reach the database (a report announced just before the pause might).
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = rig.statusesSeen().length;
  await until(() => rig.statusesSeen().length >= before + 3 * agents, "reports during the outage", 20_000);
  const server = rig.server as Proc;
  const connects = rig.seen.filter((e) => e.type === "presence" && e.data["online"] === true);
  const stopAt = Date.now();
  server.kill("SIGTERM");
  expect(await server.exited).toEqual({ code: 0, signal: null });
  const stopMs = Date.now() - stopAt;
  const seen = rig.statusesSeen();
  expect(rig.logs(server, "shutdown lost buffered writes")).toEqual([]);
  const journaled = summed(rig, server, "buffered writes journaled for the next start", "journaled");
  expect(journaled.status).toBeGreaterThanOrEqual(seen.length - before);
  expect(journaled.event).toBeGreaterThanOrEqual(agents);
  expect(journaled.presence).toBeGreaterThanOrEqual(agents);
  return { seen, connects, journaled, stopMs };
}

/**
 * After the restart: every report the server had announced is in the history exactly once,
 * and every session has its `connected` entry and the last its `server_shutdown` disconnect,
 * each once.
 */
export async function expectEverythingStored(
  rig: Rig,
  devices: Device[],
  seen: Array<{ deviceId: string; ts: number }>,
  connects: SeenEvent[],
): Promise<void> {
  for (const device of devices) {
    const rows = await storedReports(rig, device.id);
    const received = seen.filter((s) => s.deviceId === device.id).map((s) => s.ts);
    expect(received.filter((ts) => !rows.includes(ts))).toEqual([]); // 0 lost
    expect(new Set(rows).size).toBe(rows.length); // 0 duplicated
    const log = await rig.all(`/api/v1/devices/${device.id}/events`);
    const sessions = connects.filter((e) => e.data["deviceId"] === device.id).map((e) => e.data["sessionId"]);
    const of = (kind: string, sessionId: unknown) =>
      log.filter((e) => e.kind === kind && e.data?.sessionId === sessionId);
    for (const sessionId of sessions) expect(of("connected", sessionId)).toHaveLength(1);
    expect(of("disconnected", sessions.at(-1)).filter((e) => e.reason === "server_shutdown")).toHaveLength(1);
  }
}
