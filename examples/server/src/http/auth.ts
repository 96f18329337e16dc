import { createHash, randomBytes } from "node:crypto";
import type { ApiToken, IdGenerator, Store, TokenScope } from "@cloudedge/cloud-sdk";
import type { Context } from "koa";
import { HttpError } from "./problem.js";

export type Scope = TokenScope;

const RANK: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

/** `admin` implies `write` implies `read`. */
export function hasScope(token: Pick<ApiToken, "scopes">, needed: Scope): boolean {
  return token.scopes.some((scope) => RANK[scope] >= RANK[needed]);
}

/** SHA-256 of an API token: tokens are 256 random bits, so a fast hash is enough (unlike passwords). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** API tokens: random `ce_…` strings shown once, stored as SHA-256 hashes with scopes. */
export class ApiTokens {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly ids: IdGenerator,
    private readonly now: () => number = Date.now,
  ) {}

  static generate(): string {
    return `ce_${randomBytes(32).toString("base64url")}`;
  }

  async create(input: {
    name: string;
    scopes: Scope[];
    expiresInMs?: number;
    token?: string;
  }): Promise<ApiToken & { token: string }> {
    const token = input.token ?? ApiTokens.generate();
    const now = this.now();
    const record = await this.store.tokens.create({
      id: this.ids(),
      name: input.name,
      scopes: input.scopes,
      createdAt: now,
      expiresAt: input.expiresInMs !== undefined ? now + input.expiresInMs : null,
      lastUsedAt: null,
      tokenHash: hashToken(token),
    });
    return { ...record, token };
  }

  /** The token a request presents, or a 401 problem. Touches lastUsedAt at most once a minute. */
  async authenticate(ctx: Context): Promise<ApiToken> {
    const header = ctx.get("authorization");
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      ctx.set("WWW-Authenticate", 'Bearer realm="cloudedge"');
      throw new HttpError(401, "unauthorized", "send an API token as `Authorization: Bearer <token>`");
    }
    const tokenHash = hashToken(match[1] as string);
    const token = await this.valid(tokenHash);
    const now = this.now();
    if (!token) {
      ctx.set("WWW-Authenticate", 'Bearer realm="cloudedge", error="invalid_token"');
      throw new HttpError(401, "invalid_token", "the API token is unknown, revoked or expired");
    }
    // Long-lived responses (server-sent events) check again later that it still holds.
    ctx.state.tokenHash = tokenHash;
    ctx.state.token = token;
    if (now - (this.touched.get(token.id) ?? 0) > 60_000) {
      this.touched.set(token.id, now);
      void this.store.tokens.touch(token.id, now).catch(() => {});
    }
    return token;
  }

  /** The token with this hash while it exists and has not expired. */
  async valid(tokenHash: string): Promise<ApiToken | undefined> {
    const token = await this.store.tokens.findByHash(tokenHash);
    return token && (token.expiresAt === null || token.expiresAt > this.now()) ? token : undefined;
  }
}

export function requireScope(token: ApiToken, scope: Scope): void {
  if (!hasScope(token, scope)) {
    throw new HttpError(403, "forbidden", `this operation needs the '${scope}' scope`, {
      requiredScope: scope,
    });
  }
}
