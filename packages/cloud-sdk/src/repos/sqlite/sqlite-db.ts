import type Database from "better-sqlite3";
import { StoreUnavailableError } from "../../errors.js";
import type { Row, SqlParam } from "../sql/rows.js";
import { mapSqliteError, type OnDuplicate } from "./sqlite-errors.js";

/**
 * One better-sqlite3 handle shared by the repositories of a store. Statements are prepared
 * once and cached by their SQL text (dynamic filters produce a bounded set of texts).
 */
export class SqliteDb {
  private readonly statements = new Map<string, Database.Statement<SqlParam[], Row>>();
  private closed = false;

  constructor(readonly raw: Database.Database) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs driver work, mapping its errors; a closed store fails like an unreachable database. */
  run<T>(work: () => T, onDuplicate?: OnDuplicate): T {
    if (this.closed) throw new StoreUnavailableError(new Error("sqlite store is closed"));
    try {
      return work();
    } catch (err) {
      throw mapSqliteError(err, onDuplicate);
    }
  }

  /** Runs `work` in a BEGIN IMMEDIATE transaction: the write lock is taken up front, so it never fails half-way on upgrade. */
  tx<T>(work: () => T, onDuplicate?: OnDuplicate): T {
    return this.run(() => this.raw.transaction(work).immediate(), onDuplicate);
  }

  private stmt(sql: string): Database.Statement<SqlParam[], Row> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.raw.prepare<SqlParam[], Row>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  all(sql: string, ...params: SqlParam[]): Row[] {
    return this.stmt(sql).all(...params);
  }

  get(sql: string, ...params: SqlParam[]): Row | undefined {
    return this.stmt(sql).get(...params);
  }

  /** Runs a write; returns how many rows it changed. */
  write(sql: string, ...params: SqlParam[]): number {
    return this.stmt(sql).run(...params).changes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.raw.close();
  }
}
