import { createHash, randomBytes } from "node:crypto";
import { CloudErrorCode, NotFoundError, ValidationError } from "../errors.js";
import type { ApiToken, Page, PageQuery, TokenRepository, TokenScope } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import type { IdGenerator } from "../util/ids.js";

/** Shortest API-token lifetime: one minute. */
export const MIN_TOKEN_LIFETIME_MS = 60_000;
/** Longest API-token lifetime: ten years (#21.13: `1e300` made an unstorable expiry, a 503). */
export const MAX_TOKEN_LIFETIME_MS = 10 * 365 * 86_400_000;

const RANK: Record<TokenScope, number> = { read: 1, write: 2, admin: 3 };

/** `admin` implies `write` implies `read`. */
export function hasScope(token: Pick<ApiToken, "scopes">, needed: TokenScope): boolean {
  return token.scopes.some((scope) => RANK[scope] >= RANK[needed]);
}

/** SHA-256 of an API token: tokens are 256 random bits, so a fast hash is enough (unlike passwords). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A fresh API token: `ce_` and 256 random bits. */
export function generateApiToken(): string {
  return `ce_${randomBytes(32).toString("base64url")}`;
}

export interface ApiTokenServiceOptions {
  tokens: TokenRepository;
  ids: IdGenerator;
  clock?: Clock;
  /** lastUsedAt is written at most this often per token (a busy client must not write per request). Default 60 s. */
  touchEveryMs?: number;
}

/** API tokens: random `ce_…` strings shown once, stored as SHA-256 hashes with scopes and an optional expiry. */
export class ApiTokenService {
  private readonly clock: Clock;
  /** When this process last wrote each token's lastUsedAt. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly options: ApiTokenServiceOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Creates a token; ValidationError (400) for an `expiresInMs` outside 1 min … 10 years. The returned `token` is the only time it is shown (a given one is stored as is). */
  async create(input: {
    name: string;
    scopes: TokenScope[];
    expiresInMs?: number;
    token?: string;
  }): Promise<ApiToken & { token: string }> {
    const { expiresInMs } = input;
    if (
      expiresInMs !== undefined &&
      (!Number.isInteger(expiresInMs) ||
        expiresInMs < MIN_TOKEN_LIFETIME_MS ||
        expiresInMs > MAX_TOKEN_LIFETIME_MS)
    ) {
      throw new ValidationError("invalid token lifetime", [
        {
          path: "/expiresInMs",
          message: `must be an integer in ${MIN_TOKEN_LIFETIME_MS}..${MAX_TOKEN_LIFETIME_MS}`,
        },
      ]);
    }
    const token = input.token ?? generateApiToken();
    const now = this.clock.now();
    const record = await this.options.tokens.create({
      id: this.options.ids(),
      name: input.name,
      scopes: input.scopes,
      createdAt: now,
      expiresAt: input.expiresInMs !== undefined ? now + input.expiresInMs : null,
      lastUsedAt: null,
      tokenHash: hashToken(token),
    });
    return { ...record, token };
  }

  /**
   * The token a caller presents, while it exists and has not expired, with its hash (to
   * check again later that it still holds, as long-lived responses do). Records the use in
   * lastUsedAt at most once per `touchEveryMs`.
   */
  async verify(token: string): Promise<{ token: ApiToken; tokenHash: string } | undefined> {
    const tokenHash = hashToken(token);
    const found = await this.valid(tokenHash);
    if (!found) return undefined;
    const now = this.clock.now();
    if (now - (this.touched.get(found.id) ?? 0) > (this.options.touchEveryMs ?? 60_000)) {
      this.touched.set(found.id, now);
      void this.options.tokens.touch(found.id, now).catch(() => {});
    }
    return { token: found, tokenHash };
  }

  /** The token with this hash while it exists and has not expired. */
  async valid(tokenHash: string): Promise<ApiToken | undefined> {
    const token = await this.options.tokens.findByHash(tokenHash);
    return token && (token.expiresAt === null || token.expiresAt > this.clock.now()) ? token : undefined;
  }

  /** Tokens, never their values. */
  list(query: PageQuery = {}): Promise<Page<ApiToken>> {
    return this.options.tokens.list(query);
  }

  /** Revokes a token; NotFoundError (not_found) when there is none with this id. */
  async revoke(id: string): Promise<void> {
    if (!(await this.options.tokens.delete(id)))
      throw new NotFoundError(CloudErrorCode.NOT_FOUND, "no such token");
    this.touched.delete(id);
  }
}
