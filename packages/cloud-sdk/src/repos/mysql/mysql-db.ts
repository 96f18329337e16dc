import type { Pool, PoolConnection, ResultSetHeader } from "mysql2/promise";
import { StoreUnavailableError } from "../../errors.js";
import type { Row, SqlParam } from "../sql/rows.js";
import type { OnDuplicate, SqlDb, SqlRunner } from "../sql/sql-db.js";
import { isDeadlock, mapMysqlError } from "./mysql-errors.js";

type Queryable = Pool | PoolConnection;

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

/**
 * Statements on the pool (each may use a different connection) or on one connection in a
 * transaction. Fixed statements run as server-side prepared statements (cached per
 * connection); uncached ones are escaped client-side, so they do not fill that cache.
 */
function runner(on: Queryable, autocommit: boolean): SqlRunner {
  const all = async (sql: string, params: SqlParam[] = []) => (await on.execute(sql, params))[0] as Row[];
  return {
    all,
    async get(sql, params) {
      return (await all(sql, params))[0];
    },
    async write(sql, params = []) {
      const [header] = await retryingDeadlocks(autocommit, () => on.execute<ResultSetHeader>(sql, params));
      return header.affectedRows;
    },
    async allUncached(sql, params) {
      return (await on.query(sql, params))[0] as Row[];
    },
    async writeUncached(sql, params) {
      const [header] = await retryingDeadlocks(autocommit, () => on.query<ResultSetHeader>(sql, params));
      return header.affectedRows;
    },
  };
}

/** The mysql2 pool of a store, with error mapping and transactions. */
export class MysqlDb implements SqlDb {
  private closed = false;
  private readonly poolRunner: SqlRunner;

  constructor(private readonly pool: Pool) {
    this.poolRunner = runner(pool, true);
  }

  /** Runs statements on the pool (each may use a different connection), mapping driver errors. */
  async run<T>(work: (db: SqlRunner) => Promise<T>, onDuplicate?: OnDuplicate): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(new Error("mysql store is closed"));
    try {
      return await work(this.poolRunner);
    } catch (err) {
      throw mapMysqlError(err, onDuplicate);
    }
  }

  /** Runs `work` in a transaction on one connection; a deadlock victim is retried, as InnoDB expects. */
  async tx<T>(work: (db: SqlRunner) => Promise<T>, onDuplicate?: OnDuplicate): Promise<T> {
    return this.run(async () => {
      for (let attempt = 1; ; attempt++) {
        const conn = await this.pool.getConnection();
        let broken = false;
        try {
          await conn.beginTransaction();
          const result = await work(runner(conn, false));
          await conn.commit();
          return result;
        } catch (err) {
          // A fatal error means the socket is gone: never hand that connection back to the pool.
          broken = (err as { fatal?: unknown }).fatal === true;
          if (!broken) await conn.rollback().catch(() => undefined);
          if (broken || !isDeadlock(err) || attempt >= DEADLOCK_RETRIES) throw err;
        } finally {
          if (broken) conn.destroy();
          else conn.release();
        }
      }
    }, onDuplicate);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
