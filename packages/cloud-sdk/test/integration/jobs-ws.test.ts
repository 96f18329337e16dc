import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { decode } from "@cloudedge/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Cloud, type JobView, type Store } from "../../src/index.js";
import { createMysqlStore } from "../../src/repos/mysql/mysql-store.js";
import { createSqliteStore } from "../../src/repos/sqlite/sqlite-store.js";
import { createTeardown } from "../../src/testing/teardown.js";
import { MysqlTestDatabase } from "../repos/mysql-test-server.js";
import { closeServer } from "../support/close-server.js";
import { WsDevice } from "../support/ws-device.js";

const TOKEN_KEY = "integration-key-".repeat(4);
let mysqlDb: MysqlTestDatabase;
beforeAll(async () => {
  mysqlDb = await MysqlTestDatabase.create();
  await (await createMysqlStore({ url: mysqlDb.url })).close(); // migrated once
});
afterAll(async () => {
  await mysqlDb?.drop();
});

/** A job over real agents-to-be: devices on real WebSockets answering each cmd with ack + result. */
function describeJobsOverWebSockets(name: string, openStore: () => Promise<Store>): void {
  describe(`jobs over real WebSockets (${name})`, () => {
    const teardown = createTeardown(afterEach);

    async function start(n: number, fails: (i: number) => boolean) {
      const cloud = new Cloud({
        store: await openStore(),
        tokenKey: TOKEN_KEY,
        bcryptCost: 4,
        commands: { sweepMs: 50 },
      });
      await cloud.start();
      const server = createServer((_req, res) => res.writeHead(404).end());
      cloud.attach(server, "/ws");
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
      const devices: Array<{ id: string; ws: WsDevice; commands: string[] }> = [];
      teardown.add(async () => {
        await Promise.all(devices.map((d) => d.ws.close().catch(() => undefined)));
        await cloud.close({ spreadMs: 0, graceMs: 100 });
        await closeServer(server);
        await cloud.options.store.close();
      });
      for (let i = 0; i < n; i++) {
        const { device, secret } = await cloud.devices.register({
          name: `gw-${i}`,
          labels: { role: "gateway" },
        });
        const { device: ws } = await WsDevice.connect(url, { deviceId: device.id, secret });
        const entry = { id: device.id, ws, commands: [] as string[] };
        ws.ws.on("message", (data: Buffer) => {
          const decoded = decode(data, { from: "hub" });
          if (!decoded.ok || decoded.pdu.type !== "cmd") return;
          const id = decoded.pdu.id;
          entry.commands.push(id);
          ws.send({ type: "ack", id });
          ws.send(
            fails(i)
              ? {
                  type: "result",
                  id,
                  ok: false,
                  error: { code: "executor_error", message: "collector did not restart" },
                }
              : { type: "result", id, ok: true, data: { restarted: true } },
          );
        });
        devices.push(entry);
      }
      return { cloud, devices };
    }

    async function until(cloud: Cloud, jobId: string, done: (job: JobView) => boolean): Promise<JobView> {
      for (let i = 0; i < 1000; i++) {
        const job = await cloud.jobs.get(jobId);
        if (done(job)) return job;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error("job did not get there");
    }

    it("a job over 20 devices completes: every device ran it exactly once", async () => {
      const { cloud, devices } = await start(20, () => false);
      const job = await cloud.jobs.create({
        method: "collector.restart",
        targets: { selector: "role=gateway" },
        rollout: { maxInFlight: 5 },
        waves: [
          { count: 2, successThreshold: 100, soakMs: 0 },
          { percent: 100, successThreshold: 90, soakMs: 0 },
        ],
      });
      const done = await until(cloud, job.id, (j) => j.status === "COMPLETED");
      expect(done).toMatchObject({ total: 20, wave: 1, counts: { SUCCEEDED: 20 } });
      expect(devices.map((d) => new Set(d.commands).size)).toEqual(Array(20).fill(1));
      const executions = await cloud.jobs.executions(job.id, { limit: 20 });
      for (const e of executions.items)
        expect((await cloud.broker.get(e.commandId!)).result).toEqual({ restarted: true });
    });

    it("a job whose command fails on 30 % of devices aborts at its threshold with the rest CANCELED", async () => {
      // 3 of every 10 fail, spread out: 30 % of the fleet.
      const { cloud, devices } = await start(20, (i) => [3, 6, 9].includes(i % 10));
      const job = await cloud.jobs.create({
        method: "collector.restart",
        targets: { deviceIds: devices.map((d) => d.id) },
        rollout: { maxInFlight: 1 },
        abort: [{ on: "FAILED", thresholdPercent: 30, minExecuted: 10 }],
      });
      const aborted = await until(cloud, job.id, (j) => j.status === "ABORTED");
      // d3, d6, d9 failed: 3 of 10 executed once minExecuted is reached, exactly the threshold.
      expect(aborted.reason).toEqual({
        type: "abort_rule",
        rule: { on: "FAILED", thresholdPercent: 30, minExecuted: 10 },
        executed: 10,
        matched: 3,
        percent: 30,
      });
      expect(aborted.counts).toMatchObject({ FAILED: 3, SUCCEEDED: 7, CANCELED: 10, PENDING: 0 });
      expect(devices.map((d) => d.commands.length)).toEqual([...Array(10).fill(1), ...Array(10).fill(0)]);
    });
  });
}

describeJobsOverWebSockets("SQLite", () => createSqliteStore({ path: ":memory:" }));
describeJobsOverWebSockets("MySQL", async () => {
  await mysqlDb.empty();
  return createMysqlStore({ url: mysqlDb.url, connectionLimit: 4 });
});
