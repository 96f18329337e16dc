import type { Pool, PoolConnection, ResultSetHeader } from "mysql2/promise";
import { StoreUnavailableError } from "../../errors.js";
import type { Row, SqlParam } from "../sql/rows.js";
import {
  DEFAULT_STORE_TIMEOUT_MS,
  MAINTENANCE_TIMEOUT_MS,
  type OnDuplicate,
  type RunOptions,
  type SqlDb,
  type SqlRunner,
} from "../sql/sql-db.js";
import { acquire, Deadline, discard, poolSockets } from "./mysql-deadline.js";
import { isDeadlock, mapMysqlError } from "./mysql-errors.js";

type Queryable = PoolConnection;

const DEADLOCK_RETRIES = 3;

/**
 * An autocommit statement chosen as a deadlock victim was rolled back alone, so running the
 * same statement again is correct (InnoDB's advice). Inside a transaction the whole
 * transaction is retried instead (MysqlDb.tx), so there `autocommit` is false.
 */
async function retryingDeadlocks<T>(autocommit: boolean, statement: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (err) {
      if (!autocommit || !isDeadlock(err) || attempt >= DEADLOCK_RETRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}

/** Runs one statement on a connection of the store call's choosing. */
type OnConnection = <T>(statement: (conn: Queryable) => Promise<T>) => Promise<T>;

/**
 * Statements on the pool (each may use a different connection) or on one connection in a
 * transaction. Fixed statements run as server-side prepared statements (cached per
 * connection); uncached ones are escaped client-side, so they do not fill that cache.
 */
function runner(on: OnConnection, autocommit: boolean): SqlRunner {
  const all = async (sql: string, params: SqlParam[] = []) =>
    (await on((c) => c.execute(sql, params)))[0] as Row[];
  return {
    all,
    async get(sql, params) {
      return (await all(sql, params))[0];
    },
    async write(sql, params = []) {
      const [header] = await retryingDeadlocks(autocommit, () =>
        on((c) => c.execute<ResultSetHeader>(sql, params)),
      );
      return header.affectedRows;
    },
    async allUncached(sql, params) {
      return (await on((c) => c.query(sql, params)))[0] as Row[];
    },
    async writeUncached(sql, params) {
      const [header] = await retryingDeadlocks(autocommit, () =>
        on((c) => c.query<ResultSetHeader>(sql, params)),
      );
      return header.affectedRows;
    },
  };
}

function isFatal(err: unknown): boolean {
  return (err as { fatal?: unknown } | null)?.fatal === true;
}

/** One connection of a store call: every statement on it bounded by the call's deadline. */
class Leased {
  private dropped = false;
  constructor(
    readonly conn: PoolConnection,
    private readonly deadline: Deadline,
  ) {}

  run<T>(statement: (conn: Queryable) => Promise<T>): Promise<T> {
    return this.deadline
      .race(statement(this.conn), () => this.drop())
      .catch((err: unknown) => {
        if (isFatal(err)) this.drop();
        throw err;
      });
  }

  get broken(): boolean {
    return this.dropped;
  }

  /** A connection that timed out or failed fatally never goes back to the pool. */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    discard(this.conn);
  }

  done(): void {
    if (!this.dropped) this.conn.release();
  }
}

/**
 * The mysql2 pool of a store, with error mapping, transactions and a time bound per store
 * call: a database that stops answering (a hung server keeps its TCP port open) fails the
 * call with StoreUnavailableError after `timeoutMs`, like a refused connection does at once.
 */
export class MysqlDb implements SqlDb {
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly timeoutMs = DEFAULT_STORE_TIMEOUT_MS,
  ) {}

  /** Runs statements on the pool (each may use a different connection), mapping driver errors. */
  async run<T>(
    work: (db: SqlRunner) => Promise<T>,
    onDuplicate?: OnDuplicate,
    options?: RunOptions,
  ): Promise<T> {
    return this.mapped(async () => {
      const deadline = this.deadline(options);
      const onPool: OnConnection = async (statement) => {
        const leased = new Leased(await acquire(this.pool, deadline), deadline);
        try {
          return await leased.run(statement);
        } finally {
          leased.done();
        }
      };
      return work(runner(onPool, true));
    }, onDuplicate);
  }

  /** Runs `work` in a transaction on one connection; a deadlock victim is retried, as InnoDB expects. */
  async tx<T>(
    work: (db: SqlRunner) => Promise<T>,
    onDuplicate?: OnDuplicate,
    options?: RunOptions,
  ): Promise<T> {
    return this.mapped(async () => {
      const deadline = this.deadline(options);
      for (let attempt = 1; ; attempt++) {
        const leased = new Leased(await acquire(this.pool, deadline), deadline);
        try {
          await leased.run((c) => c.beginTransaction());
          const result = await work(runner((statement) => leased.run(statement), false));
          await leased.run((c) => c.commit());
          return result;
        } catch (err) {
          // A dropped connection's transaction dies with it: the server rolls it back.
          if (!leased.broken) await leased.run((c) => c.rollback()).catch(() => undefined);
          if (leased.broken || !isDeadlock(err) || attempt >= DEADLOCK_RETRIES) throw err;
        } finally {
          leased.done();
        }
      }
    }, onDuplicate);
  }

  /** Ends the pool; a server that does not answer is given the same bound, then its sockets are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ending = this.pool.end();
    await new Deadline(this.timeoutMs)
      .race(ending, () => {
        for (const socket of poolSockets(this.pool)) socket.destroy();
      })
      .catch(() => undefined);
  }

  private deadline(options: RunOptions | undefined): Deadline {
    return new Deadline(
      options?.maintenance ? Math.max(this.timeoutMs, MAINTENANCE_TIMEOUT_MS) : this.timeoutMs,
    );
  }

  private async mapped<T>(work: () => Promise<T>, onDuplicate?: OnDuplicate): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(new Error("mysql store is closed"));
    try {
      return await work();
    } catch (err) {
      throw mapMysqlError(err, onDuplicate);
    }
  }
}
