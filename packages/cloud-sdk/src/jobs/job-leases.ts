/**
 * Which node drives a job: at most one at a time. A lease lasts `ttlMs` after its last
 * renewal; a node that dies stops renewing, and another takes the job over once it lapsed.
 */
export interface JobLeases {
  /** Lease lifetime; drivers renew at a third of it. Infinity: never lapses (one process). */
  readonly ttlMs: number;
  /** Takes the job's lease for this node, or renews it; false while another node holds it. */
  acquire(jobId: string): Promise<boolean>;
  /** Gives the lease up (the job ended, or this node stops driving it). */
  release(jobId: string): Promise<void>;
}

/** One process drives every job: the default without a cluster. */
export const localJobLeases: JobLeases = {
  ttlMs: Number.POSITIVE_INFINITY,
  acquire: async () => true,
  release: async () => {},
};
