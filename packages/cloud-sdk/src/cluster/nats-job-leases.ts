import { type KV, type NatsConnection, StorageType } from "nats";
import type { JobLeases } from "../jobs/job-leases.js";
import { isWrongLastSequence } from "./nats-buckets.js";
import { nameToken } from "./nats-names.js";

export interface NatsJobLeasesOptions {
  /** Subject and bucket prefix, as the bus's. */
  prefix: string;
  /** The value a held lease carries: this node's instance (a restarted node is another holder). */
  holder: string;
  /** Default 10 s. */
  ttlMs?: number;
  replicas?: number;
}

/**
 * Job leases in a JetStream KV bucket (`<prefix>_job_leases`) whose entries expire `ttlMs`
 * after their last write: acquiring is a create (fails when held), renewing a
 * compare-and-set update on the revision read, so two nodes never both hold one job.
 */
export class NatsJobLeases implements JobLeases {
  readonly ttlMs: number;

  private constructor(
    private readonly kv: KV,
    private readonly holder: string,
    ttlMs: number,
  ) {
    this.ttlMs = ttlMs;
  }

  static async open(nc: NatsConnection, options: NatsJobLeasesOptions): Promise<NatsJobLeases> {
    const ttlMs = options.ttlMs ?? 10_000;
    const kv = await nc.jetstream().views.kv(`${nameToken(options.prefix)}_job_leases`, {
      history: 1,
      storage: StorageType.Memory,
      ttl: ttlMs,
      replicas: options.replicas ?? 1,
    });
    return new NatsJobLeases(kv, options.holder, ttlMs);
  }

  async acquire(jobId: string): Promise<boolean> {
    const entry = await this.kv.get(jobId);
    try {
      if (entry?.operation !== "PUT") await this.kv.create(jobId, this.holder);
      else if (entry.string() === this.holder) await this.kv.update(jobId, this.holder, entry.revision);
      else return false;
      return true;
    } catch (error) {
      // Another node created or renewed it between our read and our write.
      if (isWrongLastSequence(error) || String(error).includes("wrong last sequence")) return false;
      throw error;
    }
  }

  async release(jobId: string): Promise<void> {
    const entry = await this.kv.get(jobId);
    if (entry?.operation === "PUT" && entry.string() === this.holder)
      await this.kv.delete(jobId, { previousSeq: entry.revision }).catch(() => undefined);
  }
}
