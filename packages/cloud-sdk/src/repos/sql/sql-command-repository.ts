import { ACTIVE_COMMAND_STATUSES, type CommandStatus, TERMINAL_COMMAND_STATUSES } from "@cloudedge/protocol";
import { CloudErrorCode, ConflictError, NotFoundError } from "../../errors.js";
import { applyCommandPatch, type CommandPatch } from "../command-model.js";
import { parseId, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import type { CommandLoad, CommandQuery, CommandRecord, CommandRepository, Page } from "../types.js";
import { placeholders } from "./batches.js";
import { COMMAND_INSERT_COLUMNS as COLUMNS, commandAssignments, commandValues } from "./command-columns.js";
import type { Dialect } from "./dialect.js";
import { commandFromRow, type SqlParam } from "./rows.js";
import type { SqlDb } from "./sql-db.js";

/** Commands in SQL; `transition` is one guarded UPDATE, read back in the same statement or transaction. */
export class SqlCommandRepository implements CommandRepository {
  constructor(
    private readonly db: SqlDb,
    private readonly dialect: Dialect,
  ) {}

  async create(command: CommandRecord): Promise<void> {
    requireId(command.id);
    const device = parseId(command.deviceId);
    if (device === undefined) throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "device not found");
    const values = commandValues(command, device);
    await this.db.run(
      (db) => db.write(`INSERT INTO commands (${COLUMNS}) VALUES (${placeholders(values.length)})`, values),
      () => new ConflictError(CloudErrorCode.CONFLICT, "command id is taken"),
    );
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    const key = parseId(id);
    return this.db.run(async (db) => {
      if (key === undefined) return undefined;
      const row = await db.get(`SELECT ${COLUMNS} FROM commands WHERE id = ?`, [key]);
      return row && commandFromRow(row);
    });
  }

  async transition(
    id: string,
    expected: CommandStatus,
    patch: CommandPatch,
    basis?: CommandRecord,
  ): Promise<CommandRecord | undefined> {
    const { assignments, values } = commandAssignments(patch);
    const key = parseId(id);
    if (key === undefined) return this.db.run(async () => undefined);
    const guard = basis ? " AND attempts = ? AND updated_at = ?" : "";
    const update = `UPDATE commands SET ${assignments} WHERE id = ? AND status = ?${guard}`;
    const params = [...values, key, expected, ...(basis ? [basis.attempts, basis.updatedAt] : [])];
    if (basis && !this.dialect.updateReturning) {
      // The row was exactly `basis` and now is `basis` + patch: no read-back, no transaction.
      return this.db.run(async (db) =>
        (await db.write(update, params)) === 0 ? undefined : applyCommandPatch(basis, patch),
      );
    }
    if (this.dialect.updateReturning) {
      // One statement: atomic across processes sharing the database file, too.
      return this.db.run(async (db) => {
        const row = await db.get(`${update} RETURNING ${COLUMNS}`, params);
        return row && commandFromRow(row);
      });
    }
    return this.db.tx(async (db) => {
      if ((await db.write(update, params)) === 0) return undefined;
      // Our UPDATE holds the row lock until commit, so this reads exactly what we wrote.
      const row = await db.get(`SELECT ${COLUMNS} FROM commands WHERE id = ?`, [key]);
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
    sql += ` ORDER BY id DESC${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) =>
      device === undefined
        ? { items: [] }
        : toPage((await db.all(sql, params)).map(commandFromRow), limit, (c) => c.id),
    );
  }

  async listQueued(deviceId: string): Promise<CommandRecord[]> {
    const device = parseId(deviceId);
    return this.db.run(async (db) =>
      device === undefined
        ? []
        : (
            await db.all(
              `SELECT ${COLUMNS} FROM commands WHERE device_id = ? AND status = 'QUEUED' ORDER BY id`,
              [device],
            )
          ).map(commandFromRow),
    );
  }

  async activeLoad(deviceId: string): Promise<CommandLoad> {
    const device = parseId(deviceId);
    return this.db.run(async (db) => {
      if (device === undefined) return { count: 0, bytes: 0 };
      const row = await db.get(
        `SELECT COUNT(*) AS n, COALESCE(SUM(${this.dialect.byteLength("params")}), 0) AS bytes FROM commands` +
          ` WHERE device_id = ? AND status IN (${placeholders(ACTIVE_COMMAND_STATUSES.length)})`,
        [device, ...ACTIVE_COMMAND_STATUSES],
      );
      return { count: Number(row?.["n"] ?? 0), bytes: Number(row?.["bytes"] ?? 0) };
    });
  }

  async listNonTerminal(): Promise<CommandRecord[]> {
    return this.db.run(async (db) =>
      (
        await db.all(
          `SELECT ${COLUMNS} FROM commands WHERE status IN (${placeholders(ACTIVE_COMMAND_STATUSES.length)}) ORDER BY id`,
          [...ACTIVE_COMMAND_STATUSES],
        )
      ).map(commandFromRow),
    );
  }

  async deleteFinishedBefore(before: number): Promise<number> {
    return this.db.run((db) =>
      db.write(
        `DELETE FROM commands WHERE status IN (${placeholders(TERMINAL_COMMAND_STATUSES.length)}) AND updated_at < ?`,
        [...TERMINAL_COMMAND_STATUSES, before],
      ),
    );
  }
}
