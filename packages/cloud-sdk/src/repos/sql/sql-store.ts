import { SqlJobRepository } from "../../jobs/repos/sql-job-repository.js";
import type { Store } from "../types.js";
import type { Dialect } from "./dialect.js";
import { SqlCommandRepository } from "./sql-command-repository.js";
import type { SqlDb } from "./sql-db.js";
import { SqlDeviceRepository } from "./sql-device-repository.js";
import { SqlEventRepository } from "./sql-event-repository.js";
import { SqlGroupRepository } from "./sql-group-repository.js";
import { SqlStateRepository } from "./sql-state-repository.js";
import { SqlStatusRepository } from "./sql-status-repository.js";
import { SqlTokenRepository } from "./sql-token-repository.js";

/** Every repository over one SQL database; the MySQL and SQLite stores differ only in their SqlDb and Dialect. */
export class SqlStore implements Store {
  readonly dialect: string;
  readonly devices: SqlDeviceRepository;
  readonly groups: SqlGroupRepository;
  readonly commands: SqlCommandRepository;
  readonly status: SqlStatusRepository;
  readonly state: SqlStateRepository;
  readonly events: SqlEventRepository;
  readonly tokens: SqlTokenRepository;
  readonly jobs: SqlJobRepository;

  constructor(
    private readonly db: SqlDb,
    dialect: Dialect,
  ) {
    this.dialect = dialect.name;
    this.devices = new SqlDeviceRepository(db, dialect);
    this.groups = new SqlGroupRepository(db, dialect);
    this.commands = new SqlCommandRepository(db, dialect);
    this.status = new SqlStatusRepository(db, dialect);
    this.state = new SqlStateRepository(db, dialect);
    this.events = new SqlEventRepository(db, dialect);
    this.tokens = new SqlTokenRepository(db, dialect);
    this.jobs = new SqlJobRepository(db, dialect);
  }

  async ping(): Promise<void> {
    await this.db.run((db) => db.get("SELECT 1 AS ok"));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
