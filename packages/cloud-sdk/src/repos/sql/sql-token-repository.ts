import { CloudErrorCode, ConflictError } from "../../errors.js";
import { parseId, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import type { ApiToken, Page, PageQuery, TokenRepository } from "../types.js";
import type { Dialect } from "./dialect.js";
import { type SqlParam, TOKEN_COLUMNS, tokenFromRow } from "./rows.js";
import type { SqlDb } from "./sql-db.js";

/** API tokens in SQL, looked up by the unique SHA-256 of the token. */
export class SqlTokenRepository implements TokenRepository {
  constructor(
    private readonly db: SqlDb,
    private readonly dialect: Dialect,
  ) {}

  async create(token: ApiToken & { tokenHash: string }): Promise<ApiToken> {
    const id = requireId(token.id);
    const stored: ApiToken = {
      id: token.id,
      name: token.name,
      scopes: [...token.scopes],
      createdAt: token.createdAt,
      expiresAt: token.expiresAt ?? null,
      lastUsedAt: token.lastUsedAt ?? null,
    };
    return this.db.run(
      async (db) => {
        await db.write(
          `INSERT INTO api_tokens (id, name, token_hash, scopes, created_at, expires_at, last_used_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [
            id,
            stored.name,
            token.tokenHash,
            JSON.stringify(stored.scopes),
            stored.createdAt,
            stored.expiresAt,
            stored.lastUsedAt,
          ],
        );
        return stored;
      },
      () => new ConflictError(CloudErrorCode.CONFLICT, "token exists"),
    );
  }

  async findByHash(tokenHash: string): Promise<ApiToken | undefined> {
    return this.db.run(async (db) => {
      const row = await db.get(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`, [tokenHash]);
      return row && tokenFromRow(row);
    });
  }

  async list(query: PageQuery = {}): Promise<Page<ApiToken>> {
    const limit = pageLimit(query.limit);
    const params: SqlParam[] = [afterId(query.after) ?? -1];
    const sql = `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id > ? ORDER BY id${this.dialect.limit(limit + 1, params)}`;
    return this.db.run(async (db) =>
      toPage((await db.all(sql, params)).map(tokenFromRow), limit, (t) => t.id),
    );
  }

  async delete(id: string): Promise<boolean> {
    const key = parseId(id);
    return this.db.run(
      async (db) => key !== undefined && (await db.write("DELETE FROM api_tokens WHERE id = ?", [key])) > 0,
    );
  }

  async touch(id: string, lastUsedAt: number): Promise<void> {
    const key = parseId(id);
    await this.db.run(async (db) => {
      if (key !== undefined)
        await db.write("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [lastUsedAt, key]);
    });
  }
}
