import type { CommandStatus } from "@cloudedge/protocol";
import { CloudErrorCode, ConflictError, NotFoundError } from "../../errors.js";
import { type CommandPatch, NON_TERMINAL_STATUSES, TERMINAL_STATUSES } from "../command-model.js";
import { parseId, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import { COMMAND_INSERT_COLUMNS, commandAssignments, commandValues } from "../sql/command-columns.js";
import { commandFromRow, type SqlParam } from "../sql/rows.js";
import type { CommandQuery, CommandRecord, CommandRepository, Page } from "../types.js";
import type { SqliteDb } from "./sqlite-db.js";

const COLUMNS = COMMAND_INSERT_COLUMNS;
const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

/** Commands in SQLite; `transition` is a single guarded UPDATE … RETURNING, so it is atomic across processes too. */
export class SqliteCommandRepository implements CommandRepository {
  constructor(private readonly db: SqliteDb) {}

  async create(command: CommandRecord): Promise<void> {
    requireId(command.id);
    const device = parseId(command.deviceId);
    if (device === undefined) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
    const values = commandValues(command, device);
    this.db.run(
      () => this.db.write(`INSERT INTO commands (${COLUMNS}) VALUES (${placeholders(14)})`, ...values),
      () => new ConflictError(CloudErrorCode.CONFLICT, "command id is taken"),
    );
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    const key = parseId(id);
    return this.db.run(() => {
      if (key === undefined) return undefined;
      const row = this.db.get(`SELECT ${COLUMNS} FROM commands WHERE id = ?`, key);
      return row && commandFromRow(row);
    });
  }

  async transition(
    id: string,
    expected: CommandStatus,
    patch: CommandPatch,
  ): Promise<CommandRecord | undefined> {
    const { assignments, values } = commandAssignments(patch);
    const key = parseId(id);
    return this.db.run(() => {
      if (key === undefined) return undefined;
      const row = this.db.get(
        `UPDATE commands SET ${assignments} WHERE id = ? AND status = ? RETURNING ${COLUMNS}`,
        ...values,
        key,
        expected,
      );
      return row && commandFromRow(row);
    });
  }

  async listByDevice(deviceId: string, query: CommandQuery = {}): Promise<Page<CommandRecord>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const device = parseId(deviceId);
    const statuses = query.status ?? [];
    const params: SqlParam[] = [device ?? -1];
    let sql = `SELECT ${COLUMNS} FROM commands WHERE device_id = ?`;
    if (after !== undefined) {
      sql += " AND id < ?";
      params.push(after);
    }
    if (statuses.length > 0) {
      sql += ` AND status IN (${placeholders(statuses.length)})`;
      params.push(...statuses);
    }
    sql += " ORDER BY id DESC LIMIT ?";
    params.push(limit + 1);
    return this.db.run(() => toPage(this.db.all(sql, ...params).map(commandFromRow), limit, (c) => c.id));
  }

  async listQueued(deviceId: string): Promise<CommandRecord[]> {
    const device = parseId(deviceId);
    return this.db.run(() =>
      device === undefined
        ? []
        : this.db
            .all(
              `SELECT ${COLUMNS} FROM commands WHERE device_id = ? AND status = 'QUEUED' ORDER BY id`,
              device,
            )
            .map(commandFromRow),
    );
  }

  async listNonTerminal(): Promise<CommandRecord[]> {
    return this.db.run(() =>
      this.db
        .all(
          `SELECT ${COLUMNS} FROM commands WHERE status IN (${placeholders(NON_TERMINAL_STATUSES.length)}) ORDER BY id`,
          ...NON_TERMINAL_STATUSES,
        )
        .map(commandFromRow),
    );
  }

  async deleteFinishedBefore(before: number): Promise<number> {
    return this.db.run(() =>
      this.db.write(
        `DELETE FROM commands WHERE status IN (${placeholders(TERMINAL_STATUSES.length)}) AND updated_at < ?`,
        ...TERMINAL_STATUSES,
        before,
      ),
    );
  }
}
