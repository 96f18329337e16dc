import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateMariadb, startPrivateMariadb } from "../support/private-mariadb.js";
import { Fleet, ServerUnderTest, statusRows, storeBoundCalls } from "./fault-harness.js";

/**
 * Fault injection (#20): the reference server as a process over a MariaDB of its own, devices
 * connected and reporting, then the database hung (SIGSTOP: TCP open, nothing answers) and
 * killed. What an operator sees is asserted — every REST call 503 store_unavailable, /readyz
 * 503, devices still online, status still accepted, then recovery and every report written
 * exactly once. Durations are printed (docs/operations.md "What each failure does"), never
 * asserted: the bound is CLOUDEDGE_DB_TIMEOUT_MS, left at its default here.
 */
const DEVICES = 5;
const REPORT_EVERY_MS = 100;
/** How long the database stays down (at least): long enough for hundreds of reports to pile up. */
const OUTAGE_MS = 10_000;

let db: PrivateMariadb;
let server: ServerUnderTest;
let fleet: Fleet;

beforeAll(async () => {
  db = await startPrivateMariadb();
  server = await ServerUnderTest.start(db.url);
  fleet = await Fleet.connect(server, DEVICES);
}, 180_000);

afterAll(async () => {
  await fleet?.close();
  await server?.stop();
  await db?.stop();
}, 60_000);

interface OutageFigures {
  /** Slowest first answer of the store-bound REST calls. */
  maxMsTo503: number;
  /** /readyz 200 again, counted from the database answering again. */
  msToReady: number;
  /** Status reports buffered at the peak (the status_pending gauge). */
  pendingPeak: number;
  /** All buffered reports written, counted from the database answering again. */
  msToDrained: number;
}

/** One outage: `fail` the database, check what clients and devices see, `restore` it, check recovery and the counts. */
async function outage(
  fail: () => Promise<void> | void,
  restore: () => Promise<void>,
): Promise<OutageFigures> {
  expect((await server.call("GET", "/readyz")).status).toBe(200);
  const sessions = fleet.sessions();
  const deviceId = fleet.deviceIds[0] as string;
  fleet.startReporting(REPORT_EVERY_MS);
  const sentBefore = fleet.sent;
  await fail();
  const failed = performance.now();

  let maxMsTo503 = 0;
  // Twice: the first calls find pooled connections, the second ones only new connection attempts.
  for (let round = 1; round <= 2; round++) {
    const calls = storeBoundCalls(server, deviceId);
    const answers = await Promise.all(calls.map(async ([name, call]) => ({ name, ...(await call()) })));
    console.log(
      `round ${round}:`,
      answers.map((a) => `${a.name} ${a.status} ${a.code} ${a.ms} ms`).join("; "),
    );
    for (const { name, status, code } of answers)
      expect({ name, status, code }).toEqual({ name, status: 503, code: "store_unavailable" });
    if (round === 1) maxMsTo503 = Math.max(...answers.map((a) => a.ms));
  }
  expect((await server.call("GET", "/healthz")).status).toBe(200);
  const left = OUTAGE_MS - (performance.now() - failed);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));

  // The hot path does not wait on the database: reports are accepted and buffered, and counted.
  const sentDuring = fleet.sent - sentBefore;
  await expect
    .poll(() => server.metric("cloudedge_status_pending"), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(sentDuring);
  const pendingPeak = await server.metric("cloudedge_status_pending");
  expect(fleet.sessions()).toEqual(sessions);
  expect(fleet.queued).toBe(0);

  await restore();
  const restored = performance.now();
  await expect
    .poll(async () => (await server.call("GET", "/readyz")).status, { timeout: 60_000, interval: 100 })
    .toBe(200);
  const msToReady = Math.round(performance.now() - restored);
  expect((await server.call("GET", "/api/v1/devices")).status).toBe(200);
  expect((await server.call("GET", `/api/v1/devices/${deviceId}/status/history`)).status).toBe(200);

  fleet.stopReporting();
  await expect
    .poll(() => server.metric("cloudedge_status_pending"), { timeout: 60_000, interval: 100 })
    .toBe(0);
  const msToDrained = Math.round(performance.now() - restored);
  // 0 lost, 0 duplicated: one row per report sent.
  // (Polled: the last reports may still be on their way when the gauge first reads 0.)
  await expect
    .poll(() => statusRows(db.url, fleet.deviceIds), { timeout: 30_000 })
    .toEqual({ rows: fleet.sent, distinct: fleet.sent });
  expect(fleet.sessions()).toEqual(sessions);
  for (const id of fleet.deviceIds)
    expect((await server.call("GET", `/api/v1/devices/${id}`)).body.online).toBe(true);
  expect(server.logLines().filter((line) => line["msg"] === "unhandled error")).toEqual([]);
  return { maxMsTo503, msToReady, pendingPeak, msToDrained };
}

describe("fault: the database hung or killed under a connected fleet", () => {
  it("hung (SIGSTOP): every REST call and /readyz answer 503 store_unavailable, status is buffered, nothing is lost", async () => {
    const figures = await outage(
      () => db.pause(),
      async () => db.resume(),
    );
    console.log("database hung:", figures);
  }, 180_000);

  it("killed (SIGKILL, then restarted): the same, with refused connections", async () => {
    const figures = await outage(
      () => db.kill(),
      () => db.restart(),
    );
    console.log("database killed:", figures);
  }, 180_000);
});
