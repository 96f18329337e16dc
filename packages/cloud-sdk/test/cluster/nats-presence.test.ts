import { randomBytes } from "node:crypto";
import type { KV, NatsConnection } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import {
  isWrongLastSequence,
  openBuckets,
  type PresenceBuckets,
  readLast,
} from "../../src/cluster/nats-buckets.js";
import { encode } from "../../src/cluster/nats-names.js";
import { NatsPresence } from "../../src/cluster/nats-presence.js";
import { NatsClusterBus } from "../../src/nats.js";
import { createTeardown } from "../../src/testing/teardown.js";
import type { Clock } from "../../src/util/clock.js";
import { type Logger, silentLogger } from "../../src/util/logger.js";
import { ManualClock } from "../support/manual-clock.js";
import { FAST_PRESENCE, NatsTestCluster, until } from "./support/nats-test-server.js";

const session = (sessionId: string) => ({ sessionId, connectedAt: 1_700_000_000_000 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A presence entry as another node (alive, dead or back) would have written it. */
const entryOf = (inst: string, sessionId: string) =>
  encode({ node: inst.replace(/-\d+$/, ""), inst, session: sessionId, since: 1 });

/** The KV with some of its methods replaced (a slow or failing server, as a load test saw it). */
function override(kv: KV, methods: Partial<KV>): KV {
  return new Proxy(kv, {
    get(target, property) {
      if (property in methods) return methods[property as keyof KV];
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * NatsPresence under a long reap, failing KV calls and the purge of delete markers, against
 * the real NATS. Each test has a namespace of its own: its node is the leader there, and
 * orphans go to its handlers only.
 */
describe("NATS presence (real NATS)", () => {
  // The tests break connections and buckets on purpose: closing them afterwards may fail.
  const cleanups = createTeardown(afterEach, { ignoreErrors: true });

  async function namespace() {
    const cluster = await NatsTestCluster.create();
    cleanups.add(() => cluster.drop());
    const admin = await cluster.connection();
    cleanups.add(() => admin.close());
    const buckets = await openBuckets(admin, { prefix: cluster.prefix, replicas: 1, ...FAST_PRESENCE });
    return { cluster, admin, ...buckets };
  }

  /** A NatsPresence of its own connection, as NatsClusterBus opens it. */
  async function presenceOf(
    cluster: NatsTestCluster,
    nodeId: string,
    options: {
      wrapBuckets?: (buckets: PresenceBuckets) => PresenceBuckets;
      purgeIntervalMs?: number;
      clock?: Clock;
    } = {},
  ) {
    const nc: NatsConnection = await cluster.connection();
    const presence = await NatsPresence.open(nc, {
      prefix: cluster.prefix,
      nodeId,
      instance: `${nodeId}-${randomBytes(6).toString("hex")}`,
      ...FAST_PRESENCE,
      replicas: 1,
      purgeIntervalMs: options.purgeIntervalMs ?? 300_000,
      logger: silentLogger,
      onStale: async () => undefined,
      wrapBuckets: options.wrapBuckets,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    cleanups.add(async () => {
      await presence.close();
      await nc.close();
    });
    return presence;
  }

  describe("reaping", () => {
    it("a long reap never holds up the reaper's liveness refresh, so no one reaps the reaper", async () => {
      const { cluster } = await namespace();
      // Instance ids sort by node id: the reaper is the leader once the doomed node is gone.
      const reaper = await cluster.bus("a-reaper");
      const witness = await cluster.bus("b-witness");
      const connection = await cluster.connection();
      const doomed = await NatsClusterBus.connect({
        connection,
        prefix: cluster.prefix,
        nodeId: "c-doomed",
        ...FAST_PRESENCE,
      });
      cleanups.add(() => doomed.close());
      // The reap is as slow as it gets: its orphan handler does not return until we say so.
      const stuck = gate();
      cleanups.add(async () => stuck.open());
      const reaped: string[] = [];
      reaper.presence.onOrphaned(async (orphan) => {
        reaped.push(orphan.deviceId);
        await stuck.opened;
      });
      const stolen: string[] = [];
      witness.presence.onOrphaned(async (orphan) => void stolen.push(orphan.deviceId));
      await reaper.hold("101", session("s-101"));
      await witness.hold("102", session("s-102"));
      await doomed.hold("103", session("s-103"));
      await doomed.hold("104", session("s-104"));

      await connection.close(); // the doomed node dies without a goodbye
      await until(() => reaped.length > 0, "the reap under way");
      // For three TTLs the reap stays stuck; the reaper must stay alive to the others all along.
      const end = Date.now() + 3 * FAST_PRESENCE.nodeTtlMs;
      while (Date.now() < end) {
        expect(witness.liveNodes.has(reaper.instance)).toBe(true);
        await sleep(50);
      }
      expect(stolen).toEqual([]);
      expect(await witness.presence.locate("101")).toBe("a-reaper");

      stuck.open();
      await until(() => reaped.length === 2, "the doomed node's sessions reaped");
      await sleep(3 * FAST_PRESENCE.heartbeatMs);
      expect(reaped.sort()).toEqual(["103", "104"]); // each once, and nothing of the living
      expect(stolen).toEqual([]);
      expect(await witness.presence.locate("101")).toBe("a-reaper");
      expect(await reaper.presence.locate("102")).toBe("b-witness");
    });

    it("checks an instance is still dead right before acting on its entries", async () => {
      const { cluster, presence, nodes } = await namespace();
      await presence.put("1001", entryOf("dead-1", "s-1001"));
      await presence.put("1002", entryOf("ghost-2", "s-1002"));
      // A device released long ago: its delete marker is nothing to reap.
      await presence.put("1003", entryOf("dead-1", "s-1003"));
      await presence.delete("1003");

      const reaper = await cluster.bus("reaper");
      const held = gate();
      cleanups.add(async () => held.open());
      const reaped: string[] = [];
      reaper.presence.onOrphaned(async (orphan) => {
        reaped.push(orphan.deviceId);
        if (orphan.deviceId === "1001") await held.opened;
      });
      await until(() => reaped.includes("1001"), "dead-1 reaped");
      // While the reap is busy with dead-1, ghost-2 is back (say, a node cut off from NATS
      // that reconnected): its liveness entry is there again, the reap's live set is older.
      const beat = () => nodes.put("ghost-2", encode({ node: "ghost", at: Date.now() }));
      await beat();
      const alive = setInterval(() => void beat().catch(() => undefined), FAST_PRESENCE.heartbeatMs / 2);
      try {
        held.open();
        await sleep(5 * FAST_PRESENCE.heartbeatMs);
        expect(reaped).toEqual(["1001"]);
        expect((await presence.get("1002"))?.operation).toBe("PUT");
        expect(await reaper.presence.locate("1002")).toBe("ghost");
      } finally {
        clearInterval(alive);
      }
      // Gone for good now: reaped once its liveness entry expires.
      await until(() => reaped.includes("1002"), "ghost-2 reaped");
      await sleep(3 * FAST_PRESENCE.heartbeatMs);
      expect(reaped.sort()).toEqual(["1001", "1002"]);
    });

    it("reads the bucket in one listing, not one get per entry, and reports each orphan once", async () => {
      const { cluster, presence } = await namespace();
      const ids = Array.from({ length: 300 }, (_, i) => String(10_000 + i));
      await Promise.all(ids.map((id) => presence.put(id, entryOf("dead-9", `s-${id}`))));
      await presence.put("99999", entryOf("dead-9", "s-gone"));
      await presence.delete("99999");

      let gets = 0;
      const node = await presenceOf(cluster, "lister", {
        wrapBuckets: (buckets) => ({
          ...buckets,
          presence: override(buckets.presence, {
            get: (key, options) => {
              gets++;
              return buckets.presence.get(key, options);
            },
          }),
        }),
      });
      const orphans: string[] = [];
      node.onOrphaned(async (orphan) => void orphans.push(orphan.deviceId));
      await node.announce("mine", session("s-mine"));
      await until(() => orphans.length >= ids.length, "every orphan reported");
      await sleep(3 * FAST_PRESENCE.heartbeatMs);
      expect(orphans.sort()).toEqual(ids);
      expect(gets).toBe(0);
      expect((await presence.get("mine"))?.operation).toBe("PUT");
      expect((await presence.get(ids[0] as string))?.operation).toBe("DEL");
    });
  });

  describe("delete markers", () => {
    it("are purged by the leader after the purge interval; live entries stay", async () => {
      const { cluster, admin, presence } = await namespace();
      const purged: number[] = [];
      const logger: Logger = {
        ...silentLogger,
        info: (fields, message) => {
          if (message === "purged presence delete markers") purged.push(fields.purged as number);
        },
      };
      const bus = await cluster.bus("purger", { purgeIntervalMs: 300, logger });
      const ids = Array.from({ length: 20 }, (_, i) => String(2_000 + i));
      for (const id of ids) await bus.hold(id, session(`s-${id}`));
      for (const id of ids.slice(0, 10)) await bus.release(id); // ten delete markers

      // Markers left, or undefined when this listing ran into the leader's purge: a purge during
      // an ordered consumer's initial delivery can leave it short of "initialized" (it stalls).
      const markers = () =>
        readLast(presence, (entry) => (entry.operation === "PUT" ? undefined : entry.revision), {
          headersOnly: true,
          idleMs: 1_000,
        }).then(
          (found) => found.size,
          () => undefined,
        );
      await until(async () => (await markers()) === 0, "no delete marker left", 20_000);
      expect(purged.reduce((sum, n) => sum + n, 0)).toBe(10);
      const jsm = await admin.jetstreamManager();
      const stream = await jsm.streams.info(`KV_${cluster.prefix}_presence`);
      expect(stream.state.messages).toBe(10);
      for (const id of ids.slice(10)) expect(await bus.presence.locate(id)).toBe("purger");
      for (const id of ids.slice(0, 10)) expect(await bus.presence.locate(id)).toBeUndefined();
    });

    it("a purge never removes the entry of a device that connected again after its marker was listed", async () => {
      const { cluster, presence } = await namespace();
      let node: NatsPresence | undefined;
      const purged: string[] = [];
      node = await presenceOf(cluster, "purger", {
        purgeIntervalMs: FAST_PRESENCE.heartbeatMs,
        wrapBuckets: (buckets) => ({
          ...buckets,
          purgeUpTo: async (key, revision) => {
            // The device connects again between the listing and the purge of its marker.
            if (key === "back" && node) await node.announce("back", session("s-back-2"));
            await buckets.purgeUpTo(key, revision);
            purged.push(key);
          },
        }),
      });
      for (const id of ["back", "gone"]) {
        await node.announce(id, session(`s-${id}`));
        await node.withdraw(id);
      }
      await until(() => purged.includes("back") && purged.includes("gone"), "both markers purged");
      const back = await presence.get("back");
      expect(back?.operation).toBe("PUT");
      expect(back?.json()).toMatchObject({ session: "s-back-2" });
      expect(await node.locate("back")).toBe("purger");
      expect(await presence.get("gone")).toBeNull();
    });
  });

  describe("failed KV calls", () => {
    it("every failed presence put is retried, even while another retry keeps failing", async () => {
      const { cluster, presence } = await namespace();
      const failures = new Map([
        ["x1", 1],
        ["x2", 2],
        ["x3", 3],
        ["stuck", 1],
      ]);
      const node = await presenceOf(cluster, "writer", {
        wrapBuckets: (buckets) => ({
          ...buckets,
          presence: override(buckets.presence, {
            put: async (key, data, options) => {
              const left = failures.get(key) ?? 0;
              if (left > 0) {
                failures.set(key, left - 1);
                throw new Error("TIMEOUT");
              }
              return buckets.presence.put(key, data, options);
            },
            // Whether the released device's entry is still there can never be checked.
            get: async (key, options) => {
              if (key === "stuck") throw new Error("TIMEOUT");
              return buckets.presence.get(key, options);
            },
          }),
        }),
      });
      await node.announce("stuck", session("s-stuck"));
      await node.withdraw("stuck"); // its write failed: left for the next heartbeats to delete
      for (const id of ["x1", "x2", "x3"]) await node.announce(id, session(`s-${id}`));
      for (const id of ["x1", "x2", "x3"]) {
        await until(async () => (await presence.get(id))?.operation === "PUT", `${id} written`);
        expect(await node.locate(id)).toBe("writer");
      }
    });

    it("deleting a leftover entry never deletes the entry of the device held again meanwhile", async () => {
      const { cluster, presence } = await namespace();
      let node: NatsPresence | undefined;
      let failPut = true;
      let comesBack = true;
      node = await presenceOf(cluster, "holder", {
        wrapBuckets: (buckets) => ({
          ...buckets,
          presence: override(buckets.presence, {
            put: async (key, data, options) => {
              if (key === "z" && failPut) {
                failPut = false;
                throw new Error("TIMEOUT");
              }
              return buckets.presence.put(key, data, options);
            },
            get: async (key, options) => {
              // The device connects again while its leftover entry is being checked.
              if (key === "z" && comesBack && node) {
                comesBack = false;
                await node.announce("z", session("s-z-2"));
              }
              return buckets.presence.get(key, options);
            },
          }),
        }),
      });
      await node.announce("z", session("s-z-1"));
      await node.withdraw("z"); // its write failed: a leftover, checked at the next heartbeat
      await until(() => !comesBack, "the leftover checked");
      await sleep(3 * FAST_PRESENCE.heartbeatMs);
      const entry = await presence.get("z");
      expect(entry?.operation).toBe("PUT");
      expect(entry?.json()).toMatchObject({ session: "s-z-2" });
      expect(await node.locate("z")).toBe("holder");
    });
  });

  describe("time", () => {
    it("heartbeats on the injected Clock: the liveness entry carries its time, refreshed only as it advances", async () => {
      const { cluster, nodes } = await namespace();
      const start = 1_800_000_000_000;
      const clock = new ManualClock(start);
      const presence = await presenceOf(cluster, "timed", { clock });
      const [instance] = [...presence.liveNodes];
      const entry = async () => (instance ? await nodes.get(instance) : null);
      expect((await entry())?.json()).toMatchObject({ node: "timed", at: start });
      const revision = (await entry())?.revision;
      await sleep(3 * FAST_PRESENCE.heartbeatMs); // real time alone beats nothing (still within the TTL)
      expect((await entry())?.revision).toBe(revision);
      await clock.advance(FAST_PRESENCE.heartbeatMs);
      await until(
        async () => (await entry())?.json<{ at: number }>().at === start + FAST_PRESENCE.heartbeatMs,
        "a heartbeat at the clock's time",
      );
    });
  });

  describe("compare-and-set", () => {
    it("a delete that lost to a newer revision is told apart by JetStream's error code", async () => {
      const { presence } = await namespace();
      const first = await presence.put("cas", encode({ n: 1 }));
      await presence.put("cas", encode({ n: 2 })); // a newer holder wrote it
      const lost = await presence.delete("cas", { previousSeq: first }).catch((error: unknown) => error);
      expect(isWrongLastSequence(lost)).toBe(true);
      expect(isWrongLastSequence(new Error("wrong last sequence: 1"))).toBe(false);
      expect((await presence.get("cas"))?.json()).toEqual({ n: 2 });
    });
  });
});
