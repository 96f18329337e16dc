import type { Pool, PoolConnection } from "mysql2/promise";

/** The driver-level error of a store call the database did not answer in time; mapped to StoreUnavailableError. */
export class DbTimeoutError extends Error {
  override readonly name = "DbTimeoutError";
  readonly code = "CE_DB_TIMEOUT";
  constructor(readonly timeoutMs: number) {
    super(`the database did not answer within ${timeoutMs} ms`);
  }
}

/** When one store call (acquire, statements, commit) must have finished. */
export class Deadline {
  private readonly at: number;
  constructor(readonly ms: number) {
    this.at = performance.now() + ms;
  }

  /**
   * `work`, or a DbTimeoutError once the deadline passes — then `onLate` runs first (it drops
   * whatever `work` was waiting on). mysql2 has no acquire timeout, and its query `timeout`
   * neither covers the PREPARE of `execute` nor frees the connection (the pool keeps it
   * checked out until the server answers), so the bound is kept here.
   */
  race<T>(work: Promise<T>, onLate: () => void): Promise<T> {
    const left = this.at - performance.now();
    return new Promise<T>((resolve, reject) => {
      const late = () => {
        onLate();
        reject(new DbTimeoutError(this.ms));
      };
      if (left <= 0) {
        work.catch(() => undefined);
        late();
        return;
      }
      const timer = setTimeout(late, left);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}

/**
 * A pooled connection taken before the deadline. One that arrives after it (the pool queues
 * callers when all connections are out) goes straight back.
 */
export function acquire(pool: Pool, deadline: Deadline): Promise<PoolConnection> {
  const pending = pool.getConnection();
  return deadline.race(pending, () => {
    pending.then(
      (conn) => conn.release(),
      () => undefined,
    );
  });
}

interface Socketed {
  stream?: { destroy(): void };
}

/**
 * Drops a connection the database stopped answering on, or that failed fatally: out of the
 * pool, and its socket closed at once — mysql2's `destroy()` alone only half-closes (sends
 * FIN), which a stopped server never completes.
 */
export function discard(conn: PoolConnection): void {
  conn.destroy();
  (conn.connection as unknown as Socketed).stream?.destroy();
}

/**
 * The sockets of every connection of a pool — for a `close()` the server does not answer
 * (`pool.end()` waits for each COM_QUIT). mysql2 offers no public list, so this reads its
 * pool's own and finds nothing if that ever changes.
 */
export function poolSockets(pool: Pool): Array<{ destroy(): void }> {
  const core = (pool as unknown as { pool?: { _allConnections?: { toArray?(): Socketed[] } } }).pool;
  const all = core?._allConnections?.toArray?.() ?? [];
  return all.flatMap((conn) => (conn.stream ? [conn.stream] : []));
}
