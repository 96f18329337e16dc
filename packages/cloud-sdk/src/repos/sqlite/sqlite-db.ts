import type Database from "better-sqlite3";
import { StoreUnavailableError } from "../../errors.js";
import type { Row, SqlParam } from "../sql/rows.js";
import type { OnDuplicate, SqlDb, SqlRunner } from "../sql/sql-db.js";
import { mapSqliteError } from "./sqlite-errors.js";

/**
 * One better-sqlite3 handle shared by the repositories of a store. Statements are prepared
 * once and cached by their SQL text (dynamic filters produce a bounded set of texts; text
 * that grows with the data goes through the uncached methods).
 *
 * The driver is synchronous, but repository work is async (it is shared with MySQL) and may
 * await between statements. On a single connection every statement joins whatever
 * transaction is open, so work runs one at a time: a statement of one call can never land in
 * (or be rolled back with) another call's transaction. Work that finds the handle free
 * starts at once, synchronously, as it did when the repositories called the driver directly.
 */
export class SqliteDb implements SqlDb {
  private readonly statements = new Map<string, Database.Statement<SqlParam[], Row>>();
  private readonly turn = new Turn();
  private closed = false;
  private readonly runner: SqlRunner = {
    all: async (sql, params = []) => this.stmt(sql).all(...params),
    get: async (sql, params = []) => this.stmt(sql).get(...params),
    write: async (sql, params = []) => this.stmt(sql).run(...params).changes,
    allUncached: async (sql, params) => this.raw.prepare<SqlParam[], Row>(sql).all(...params),
    writeUncached: async (sql, params) => this.raw.prepare<SqlParam[], Row>(sql).run(...params).changes,
  };

  constructor(private readonly raw: Database.Database) {}

  /** Runs driver work, mapping its errors; a closed store fails like an unreachable database. */
  async run<T>(work: (db: SqlRunner) => Promise<T>, onDuplicate?: OnDuplicate): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(new Error("sqlite store is closed"));
    try {
      return await this.turn.take(() => work(this.runner));
    } catch (err) {
      throw mapSqliteError(err, onDuplicate);
    }
  }

  /** Runs `work` in a BEGIN IMMEDIATE transaction: the write lock is taken up front, so it never fails half-way on upgrade. */
  async tx<T>(work: (db: SqlRunner) => Promise<T>, onDuplicate?: OnDuplicate): Promise<T> {
    return this.run(async (db) => {
      this.stmt("BEGIN IMMEDIATE").run();
      try {
        const result = await work(db);
        this.stmt("COMMIT").run();
        return result;
      } catch (err) {
        // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL).
        if (this.raw.inTransaction) this.stmt("ROLLBACK").run();
        throw err;
      }
    }, onDuplicate);
  }

  /** Closes once the work already started or waiting has finished; new work is refused at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.turn.take(async () => {
      this.statements.clear();
      try {
        this.raw.close();
      } catch (err) {
        throw new StoreUnavailableError(err);
      }
    });
  }

  private stmt(sql: string): Database.Statement<SqlParam[], Row> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.raw.prepare<SqlParam[], Row>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** A FIFO mutex: `take` runs its work when every earlier work has settled. */
class Turn {
  private busy = false;
  private readonly waiting: Array<() => void> = [];

  async take<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy = true;
    try {
      return await work();
    } finally {
      // Hand over directly (still busy), so nobody arriving meanwhile can jump the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy = false;
    }
  }
}
