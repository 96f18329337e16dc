import { CloudErrorCode, ConflictError } from "../../errors.js";
import { parseId, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import { TOKEN_COLUMNS, tokenFromRow } from "../sql/rows.js";
import type { ApiToken, Page, PageQuery, TokenRepository } from "../types.js";
import type { SqliteDb } from "./sqlite-db.js";

/** API tokens in SQLite, looked up by the unique SHA-256 of the token. */
export class SqliteTokenRepository implements TokenRepository {
  constructor(private readonly db: SqliteDb) {}

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
      () => {
        this.db.write(
          `INSERT INTO api_tokens (id, name, token_hash, scopes, created_at, expires_at, last_used_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          id,
          stored.name,
          token.tokenHash,
          JSON.stringify(stored.scopes),
          stored.createdAt,
          stored.expiresAt,
          stored.lastUsedAt,
        );
        return stored;
      },
      () => new ConflictError(CloudErrorCode.CONFLICT, "token exists"),
    );
  }

  async findByHash(tokenHash: string): Promise<ApiToken | undefined> {
    return this.db.run(() => {
      const row = this.db.get(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`, tokenHash);
      return row && tokenFromRow(row);
    });
  }

  async list(query: PageQuery = {}): Promise<Page<ApiToken>> {
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    return this.db.run(() =>
      toPage(
        this.db
          .all(
            `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id > ? ORDER BY id LIMIT ?`,
            after ?? -1,
            limit + 1,
          )
          .map(tokenFromRow),
        limit,
        (t) => t.id,
      ),
    );
  }

  async delete(id: string): Promise<boolean> {
    const key = parseId(id);
    return this.db.run(
      () => key !== undefined && this.db.write("DELETE FROM api_tokens WHERE id = ?", key) > 0,
    );
  }

  async touch(id: string, lastUsedAt: number): Promise<void> {
    const key = parseId(id);
    this.db.run(() => {
      if (key !== undefined)
        this.db.write("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", lastUsedAt, key);
    });
  }
}
