import { CloudErrorCode, ConflictError } from "../../errors.js";
import { compareIds, requireId } from "../ids.js";
import { afterId, pageLimit, toPage } from "../paging.js";
import type { ApiToken, Page, PageQuery, TokenRepository } from "../types.js";
import type { MemoryTables } from "./memory-tables.js";

/** API tokens by id; the hash is unique and never returned. */
export class MemoryTokenRepository implements TokenRepository {
  constructor(private readonly t: MemoryTables) {}

  async create(token: ApiToken & { tokenHash: string }): Promise<ApiToken> {
    this.t.assertOpen();
    requireId(token.id);
    for (const stored of this.t.tokens.values()) {
      if (stored.id === token.id || stored.tokenHash === token.tokenHash) {
        throw new ConflictError(CloudErrorCode.CONFLICT, "token exists");
      }
    }
    const stored = { ...publicToken(token), tokenHash: token.tokenHash };
    this.t.tokens.set(token.id, stored);
    return publicToken(stored);
  }

  async findByHash(tokenHash: string): Promise<ApiToken | undefined> {
    this.t.assertOpen();
    for (const stored of this.t.tokens.values()) {
      if (stored.tokenHash === tokenHash) return publicToken(stored);
    }
    return undefined;
  }

  async list(query: PageQuery = {}): Promise<Page<ApiToken>> {
    this.t.assertOpen();
    const limit = pageLimit(query.limit);
    const after = afterId(query.after);
    const tokens = [...this.t.tokens.values()]
      .filter((t) => after === undefined || BigInt(t.id) > after)
      .sort((a, b) => compareIds(a.id, b.id))
      .slice(0, limit + 1)
      .map(publicToken);
    return toPage(tokens, limit, (t) => t.id);
  }

  async delete(id: string): Promise<boolean> {
    this.t.assertOpen();
    return this.t.tokens.delete(id);
  }

  async touch(id: string, lastUsedAt: number): Promise<void> {
    this.t.assertOpen();
    const stored = this.t.tokens.get(id);
    if (stored) stored.lastUsedAt = lastUsedAt;
  }
}

/** A copy without the hash (explicit fields, so nothing extra a caller passed leaks through). */
function publicToken(t: ApiToken): ApiToken {
  return {
    id: t.id,
    name: t.name,
    scopes: [...t.scopes],
    createdAt: t.createdAt,
    expiresAt: t.expiresAt ?? null,
    lastUsedAt: t.lastUsedAt ?? null,
  };
}
