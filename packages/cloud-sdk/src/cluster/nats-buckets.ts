import {
  type KV,
  type KvEntry,
  type NatsConnection,
  NatsError,
  type QueuedIterator,
  StorageType,
} from "nats";
import { nameToken } from "./nats-names.js";

/** The two KV buckets of cluster presence, and the one stream operation the KV API lacks. */
export interface PresenceBuckets {
  presence: KV;
  nodes: KV;
  /**
   * Removes the presence key's messages up to and including `revision` (a delete marker),
   * never a newer one. `KV.purgeDeletes` purges the whole key instead, which would also
   * remove the entry of a device that connected again since the marker was listed.
   */
  purgeUpTo(key: string, revision: number): Promise<void>;
}

/** A presence entry: which node instance holds a device, and the session (id, connectedAt). */
export interface PresenceValue {
  node: string;
  inst: string;
  session: string;
  since: number;
}

export interface BucketOptions {
  prefix: string;
  replicas: number;
  nodeTtlMs: number;
  heartbeatMs: number;
}

/** JetStream's error code for a compare-and-set that found a newer revision ("wrong last sequence"). */
const JS_WRONG_LAST_SEQUENCE = 10071;

/**
 * Whether a KV write or delete with `previousSeq` lost its compare-and-set: the key has a
 * newer revision (another holder wrote it). Read from the JetStream API error code, as the
 * nats client itself does in `KV.create`, not from the message text.
 */
export function isWrongLastSequence(error: unknown): boolean {
  return error instanceof NatsError && error.jsError()?.err_code === JS_WRONG_LAST_SEQUENCE;
}

/** How long a KV call may wait for its answer. */
export function kvTimeout(heartbeatMs: number): number {
  // A JetStream call that went out just before NATS died is never answered: keep its wait
  // short, so heartbeats (and the re-announce after a reconnect) are not held up for long.
  return Math.max(2_000, heartbeatMs);
}

/** Opens the buckets, creating them if needed (also after a NATS restart lost them). */
export async function openBuckets(nc: NatsConnection, options: BucketOptions): Promise<PresenceBuckets> {
  const timeout = kvTimeout(options.heartbeatMs);
  const js = nc.jetstream({ timeout });
  const jsm = await nc.jetstreamManager({ timeout, checkAPI: false });
  const prefix = nameToken(options.prefix);
  // Presence survives a NATS restart (file storage), so the dead can still be reaped after
  // one; liveness is ephemeral by nature (memory) and re-announced by every node.
  const bucket = `${prefix}_presence`;
  const presence = await js.views.kv(bucket, {
    history: 1,
    storage: StorageType.File,
    replicas: options.replicas,
    timeout,
  });
  const nodes = await js.views.kv(`${prefix}_nodes`, {
    history: 1,
    storage: StorageType.Memory,
    ttl: options.nodeTtlMs,
    replicas: options.replicas,
    timeout,
  });
  const purgeUpTo = async (key: string, revision: number): Promise<void> => {
    await jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}.${key}`, seq: revision + 1 });
  };
  return { presence, nodes, purgeUpTo };
}

/**
 * The last entry of every key of a bucket, delete markers included (`pick` returns undefined
 * to leave one out), read through one ordered consumer: a whole bucket in a few round trips
 * instead of one get per key. Rejects when the listing is cut short or stalls for `idleMs`.
 */
export async function readLast<T>(
  kv: KV,
  pick: (entry: KvEntry) => T | undefined,
  options: { headersOnly: boolean; idleMs: number },
): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  let initialized = false;
  let iterator: QueuedIterator<KvEntry> | undefined;
  iterator = await kv.watch({
    key: ">",
    headers_only: options.headersOnly,
    initializedFn: () => {
      initialized = true;
      iterator?.stop(); // what is queued is still yielded
    },
  });
  const entries = iterator;
  if (initialized) entries.stop(); // an empty bucket, or everything arrived already
  const idle = setTimeout(() => entries.stop(new Error("the bucket listing stalled")), options.idleMs);
  try {
    for await (const entry of entries) {
      idle.refresh();
      // A key can come twice (an update right after the initial values): the later wins.
      const value = pick(entry);
      if (value === undefined) found.delete(entry.key);
      else found.set(entry.key, value);
    }
  } finally {
    clearTimeout(idle);
  }
  // The watch also ends, without an error, when its subscription closes.
  if (!initialized) throw new Error("the bucket listing was cut short");
  return found;
}

/**
 * Runs `task` over `items`, `concurrency` at a time. Takes no new item once one failed or
 * `stop()` says so, then rejects with the first failure.
 */
export async function forEachConcurrent<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure && !stop()) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure) throw failure.error;
}
