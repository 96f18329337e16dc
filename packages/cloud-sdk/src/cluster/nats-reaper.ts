import type { Logger } from "../util/logger.js";
import type { OrphanedSession } from "./cluster-bus.js";
import {
  forEachConcurrent,
  isWrongLastSequence,
  type PresenceBuckets,
  type PresenceValue,
  readLast,
} from "./nats-buckets.js";
import { decode, keyToDeviceId } from "./nats-names.js";

/** KV calls a reap or a purge keeps in flight at once. */
export const CONCURRENCY = 16;
/** A reap checks again that an instance is dead before each this many of its entries. */
const REAP_CHUNK = 64;

export interface ReapOptions {
  buckets: PresenceBuckets;
  /** The reaping instance and the live ones as of its last heartbeat: entries of others are candidates. */
  instance: string;
  live: ReadonlySet<string>;
  /** A bucket listing that gets nothing for this long is given up. */
  idleMs: number;
  logger: Logger;
  /** Called once per reaped entry. */
  report: (orphan: OrphanedSession) => Promise<void>;
  /** Checked before each chunk of work: stop (closing, or reconnected: peers may not be re-announced). */
  interrupted: () => boolean;
}

/** A presence entry as a reap lists it. */
type Listed = { key: string; revision: number; value: PresenceValue };

/**
 * Deletes the entries of dead instances (compare-and-set) and reports each once. Reads the
 * whole bucket in one listing (a get per key made a 100,000-device reap take minutes), and
 * checks an instance is still dead right before acting on its entries and again every
 * REAP_CHUNK of them: it may be back (reconnected after a cut-off, or started after `live`
 * was taken). Resolves false when it left something for a later reap.
 */
export async function reapDead(options: ReapOptions): Promise<boolean> {
  const { buckets, instance, live, logger } = options;
  const listed = await readLast(
    buckets.presence,
    (entry): Listed | undefined => {
      if (entry.operation !== "PUT") return undefined; // a delete marker: nothing to reap
      let value: PresenceValue;
      try {
        value = decode<PresenceValue>(entry.value);
      } catch {
        return undefined; // not an entry of ours
      }
      if (value.inst === instance || live.has(value.inst)) return undefined;
      return { key: entry.key, revision: entry.revision, value };
    },
    { headersOnly: false, idleMs: options.idleMs },
  );
  const dead = new Map<string, Listed[]>();
  for (const entry of listed.values()) {
    const entries = dead.get(entry.value.inst) ?? [];
    entries.push(entry);
    dead.set(entry.value.inst, entries);
  }
  let complete = true;
  for (const [inst, entries] of [...dead].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (let from = 0; from < entries.length; from += REAP_CHUNK) {
      if (options.interrupted()) return false;
      if ((await buckets.nodes.get(inst))?.operation === "PUT") {
        logger.info({ instance: inst }, "an instance taken for dead is back: not reaped");
        break;
      }
      await forEachConcurrent(entries.slice(from, from + REAP_CHUNK), CONCURRENCY, async (entry) => {
        if (!(await reapOne(entry, options))) complete = false;
      });
    }
  }
  return complete;
}

/** Resolves false when the delete failed for another reason than a newer holder. */
async function reapOne({ key, revision, value }: Listed, options: ReapOptions): Promise<boolean> {
  try {
    await options.buckets.presence.delete(key, { previousSeq: revision });
  } catch (error) {
    // A node took the device meanwhile. Anything else: a later reap.
    return isWrongLastSequence(error);
  }
  const orphan: OrphanedSession = {
    deviceId: keyToDeviceId(key),
    nodeId: value.node,
    sessionId: value.session,
    connectedAt: value.since,
  };
  options.logger.info({ ...orphan }, "reaped the session of a dead node");
  await options.report(orphan);
  return true;
}

/**
 * Removes the delete markers every release leaves (history 1 keeps the last message of a
 * key, and a marker is one): 100,000 of them made every listing of the bucket take a
 * second. Idempotent, so an overlap after a change of leader does no harm. Resolves the
 * number purged.
 */
export async function purgeMarkers(
  buckets: PresenceBuckets,
  options: { idleMs: number; interrupted: () => boolean },
): Promise<number> {
  const markers = await readLast(
    buckets.presence,
    (entry) => (entry.operation === "PUT" ? undefined : entry.revision),
    { headersOnly: true, idleMs: options.idleMs },
  );
  let purged = 0;
  await forEachConcurrent(
    [...markers],
    CONCURRENCY,
    async ([key, revision]) => {
      await buckets.purgeUpTo(key, revision);
      purged++;
    },
    options.interrupted,
  );
  return purged;
}
