import { randomBytes } from "node:crypto";
import mysql, { type Pool } from "mysql2/promise";

/** The test server; CI may point elsewhere. Tests FAIL (never skip) when it is unreachable. */
export const MYSQL_SERVER_URL = process.env.CLOUDEDGE_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";

/** Tables in child-before-parent order, for emptying between tests. */
const TABLES = [
  "job_executions",
  "jobs",
  "group_members",
  "commands",
  "status_history",
  "status_latest",
  "device_state",
  "device_events",
  "api_tokens",
  "device_groups",
  "devices",
];

/** A uniquely named scratch database on the test server, dropped by `drop()`. */
export class MysqlTestDatabase {
  private constructor(
    readonly name: string,
    private readonly admin: Pool,
  ) {}

  /** Creates `cloudedge_test_<pid>_<random>`; rejects (failing the suite) when the server is down. */
  static async create(): Promise<MysqlTestDatabase> {
    const name = `cloudedge_test_${process.pid}_${randomBytes(4).toString("hex")}`;
    const admin = mysql.createPool({ uri: MYSQL_SERVER_URL, connectionLimit: 2 });
    try {
      await admin.query(`CREATE DATABASE ${admin.escapeId(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } catch (err) {
      await admin.end().catch(() => undefined);
      throw new Error(
        `cannot reach the MySQL test server at ${withoutPassword(MYSQL_SERVER_URL)} (set CLOUDEDGE_TEST_MYSQL_URL)`,
        {
          cause: err,
        },
      );
    }
    return new MysqlTestDatabase(name, admin);
  }

  /** The store URL of this database. */
  get url(): string {
    return `${MYSQL_SERVER_URL.replace(/\/+$/, "")}/${this.name}`;
  }

  /** Empties every cloudedge table (DELETE, not TRUNCATE: far cheaper on near-empty InnoDB tables). */
  async empty(): Promise<void> {
    const conn = await this.admin.getConnection();
    try {
      await conn.query(`USE ${conn.escapeId(this.name)}`);
      for (const table of TABLES) await conn.query(`DELETE FROM ${conn.escapeId(table)}`);
    } finally {
      conn.release();
    }
  }

  /** Runs a query against this database as the admin. */
  async query(sql: string, params: unknown[] = []): Promise<unknown> {
    const conn = await this.admin.getConnection();
    try {
      await conn.query(`USE ${conn.escapeId(this.name)}`);
      const [rows] = await conn.query(sql, params);
      return rows;
    } finally {
      conn.release();
    }
  }

  async drop(): Promise<void> {
    try {
      await this.admin.query(`DROP DATABASE IF EXISTS ${this.admin.escapeId(this.name)}`);
    } finally {
      await this.admin.end();
    }
  }
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = "";
  return parsed.toString();
}
