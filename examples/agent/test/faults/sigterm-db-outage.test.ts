import { mkdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateMariadb, startPrivateMariadb } from "../support/private-mariadb.js";
import { expectEverythingStored, sigtermWhileHung, storedReports, summed } from "./support/outage.js";
import { type Device, Rig, until } from "./support/rig.js";

const AGENTS = 3;

/**
 * #20.2: a SIGTERM while the database hangs (SIGSTOP: TCP open, nothing answers). The server
 * flushes for CLOUDEDGE_SHUTDOWN_FLUSH_MS, journals the rest in its data dir and exits 0; the
 * next start replays the journal before it listens: every report and event it had received is
 * in the store, once.
 */
describe("fault: a MySQL outage (private MariaDB) — SIGTERM while it hangs, SIGKILL while it is down", () => {
  let db: PrivateMariadb;
  let rig: Rig;
  let devices: Device[];

  beforeAll(async () => {
    db = await startPrivateMariadb();
    rig = new Rig({ db: () => db.url, env: { CLOUDEDGE_SHUTDOWN_FLUSH_MS: "1500" } });
    await rig.startServer();
    devices = await rig.register(AGENTS);
    for (const device of devices) await rig.startAgent(device, {});
  }, 240_000);

  afterAll(async () => {
    db?.resume();
    await rig?.close();
    await db?.stop();
  });

  it("journals what it could not write, exits 0, and the next start replays it: 0 lost, 0 duplicated", async () => {
    for (const device of devices)
      await until(
        async () => (await storedReports(rig, device.id)).length >= 2,
        "reports stored before the outage",
      );
    const { seen, connects, journaled, stopMs } = await sigtermWhileHung(rig, db, AGENTS);

    db.resume();
    const restartAt = Date.now();
    const restarted = await rig.startServer();
    const recoverMs = Date.now() - restartAt;
    expect(summed(rig, restarted, "journal replayed")).toEqual(journaled);
    await expectEverythingStored(rig, devices, seen, connects);
    // The journal is emptied once replayed.
    await restarted.stop();
    const again = await rig.startServer();
    expect(rig.logs(again, "journal replayed")).toEqual([]);
    console.log(
      `SIGTERM during outage: journaled ${JSON.stringify(journaled)}, exit after ${stopMs} ms; ` +
        `restart with replay listening after ${recoverMs} ms`,
    );
  }, 180_000);

  it("when even the journal cannot be written, logs at error level what was lost, per kind, and exits 1", async () => {
    // Every agent back on the restarted server and reporting (a handshake needs the database).
    await rig.untilReporting(AGENTS);
    // A directory where the journal file would go: the append fails (EISDIR), as on a full or read-only disk.
    const journal = join(rig.dataDir, `journal-${hostname()}-w0.log`);
    mkdirSync(journal);
    db.pause();
    const before = rig.statusesSeen().length;
    await until(() => rig.statusesSeen().length >= before + AGENTS, "reports during the outage", 20_000);
    const server = rig.server!;
    server.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 1, signal: null });
    const [lost] = rig.logs(server, "shutdown lost buffered writes");
    expect(lost).toMatchObject({ level: 50 });
    expect(lost?.["lost"].status).toBeGreaterThanOrEqual(AGENTS);
    expect(lost?.["lost"].event).toBeGreaterThanOrEqual(AGENTS);
    expect(lost?.["lost"].presence).toBeGreaterThanOrEqual(AGENTS);
    rmSync(journal, { recursive: true });
    db.resume();
    await rig.startServer();
  }, 120_000);

  it("SIGKILL during an outage (database killed): batches the store refused were journaled at once", async () => {
    await rig.untilReporting(AGENTS);
    await db.kill();
    const before = rig.statusesSeen().length;
    // Long enough for several write-behind flushes (1 s apart) to fail and be journaled.
    await until(() => rig.statusesSeen().length >= before + 4 * AGENTS, "reports during the outage", 20_000);
    const server = rig.server!;
    server.kill("SIGKILL");
    expect(await server.exited).toMatchObject({ signal: "SIGKILL" });
    const seen = rig.statusesSeen().slice(before);
    await db.restart();
    const restarted = await rig.startServer();
    const [replayed] = rig.logs(restarted, "journal replayed");
    expect(replayed?.["status"]).toBeGreaterThan(0);
    let lost = 0;
    for (const device of devices) {
      const stored = new Set(await storedReports(rig, device.id));
      const missing = seen.filter((s) => s.deviceId === device.id && !stored.has(s.ts)).map((s) => s.ts);
      // Only the tail that arrived after the last failed flush: nothing before it.
      for (const ts of missing) expect(ts).toBeGreaterThan(Math.max(...stored));
      lost += missing.length;
    }
    expect(lost).toBeLessThan(seen.length);
    console.log(
      `SIGKILL during outage: ${seen.length} reports received during the outage, ${replayed?.["status"]} replayed from the journal, ${lost} lost`,
    );
  }, 120_000);
});
