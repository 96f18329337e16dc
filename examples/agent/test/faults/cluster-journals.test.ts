import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NATS_TEST_URL,
  NatsTestCluster,
} from "../../../../packages/cloud-sdk/test/cluster/support/nats-test-server.js";
import { type PrivateMariadb, startPrivateMariadb } from "../support/private-mariadb.js";
import { expectEverythingStored, sigtermWhileHung, summed } from "./support/outage.js";
import { type Device, Rig } from "./support/rig.js";

const AGENTS = 4;

/** #20.2 in cluster mode: `--workers 2` over NATS, each worker journals to its own file and replays it. */
describe("fault: SIGTERM during a MySQL outage with --workers 2 (NATS)", () => {
  let nats: NatsTestCluster;
  let db: PrivateMariadb;
  let rig: Rig;
  let devices: Device[];

  beforeAll(async () => {
    nats = await NatsTestCluster.create();
    db = await startPrivateMariadb();
    rig = new Rig({
      db: () => db.url,
      args: ["--workers", "2"],
      env: {
        CLOUDEDGE_NATS_URL: NATS_TEST_URL,
        CLOUDEDGE_NATS_PREFIX: nats.prefix,
        CLOUDEDGE_SHUTDOWN_FLUSH_MS: "1500",
      },
    });
    await rig.startServer();
    devices = await rig.register(AGENTS);
    for (const device of devices) await rig.startAgent(device, {});
    await rig.untilReporting(AGENTS);
  }, 240_000);

  afterAll(async () => {
    db?.resume();
    await rig?.close();
    await db?.stop();
    await nats?.drop();
  });

  it("each worker journals what it held to journal-<host>-w<id>.log and replays it at its next start", async () => {
    const { seen, connects, journaled } = await sigtermWhileHung(rig, db, AGENTS);
    const journals = readdirSync(rig.dataDir).filter((f) => f.startsWith("journal-"));
    expect(journals.length).toBeGreaterThan(0);
    for (const file of journals) expect(file).toMatch(/^journal-.+-w[12]\.log$/);

    db.resume();
    const restarted = await rig.startServer();
    // Each worker logs its own replay as it starts: the second may log after the server listens.
    await expect
      .poll(() => summed(rig, restarted, "journal replayed"), { timeout: 30_000, interval: 100 })
      .toEqual(journaled);
    await expectEverythingStored(rig, devices, seen, connects);
    console.log(`--workers 2: ${journals.join(", ")} held ${JSON.stringify(journaled)}`);
  }, 180_000);
});
