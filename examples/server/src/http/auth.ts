import {
  type ApiToken,
  ApiTokenService,
  type Clock,
  hasScope,
  type IdGenerator,
  type Store,
  systemClock,
  type TokenScope,
} from "@cloudedge/cloud-sdk";
import type { Context } from "koa";
import { HttpError } from "./problem.js";

export { hashToken } from "@cloudedge/cloud-sdk";

export type Scope = TokenScope;

/** The SDK's API tokens with the Koa side: reading `Authorization: Bearer` and answering 401. */
export class ApiTokens extends ApiTokenService {
  constructor(store: Store, ids: IdGenerator, clock: Clock = systemClock) {
    super({ tokens: store.tokens, ids, clock });
  }

  /** The token a request presents, or a 401 problem; leaves it (and its hash) in `ctx.state`. */
  async authenticate(ctx: Context): Promise<ApiToken> {
    const match = /^Bearer\s+(\S+)$/i.exec(ctx.get("authorization"));
    if (!match) {
      ctx.set("WWW-Authenticate", 'Bearer realm="cloudedge"');
      throw new HttpError(401, "unauthorized", "send an API token as `Authorization: Bearer <token>`");
    }
    const verified = await this.verify(match[1] as string);
    if (!verified) {
      ctx.set("WWW-Authenticate", 'Bearer realm="cloudedge", error="invalid_token"');
      throw new HttpError(401, "invalid_token", "the API token is unknown, revoked or expired");
    }
    // Long-lived responses (server-sent events) check again later that it still holds.
    ctx.state.tokenHash = verified.tokenHash;
    ctx.state.token = verified.token;
    return verified.token;
  }
}

export function requireScope(token: ApiToken, scope: Scope): void {
  if (!hasScope(token, scope)) {
    throw new HttpError(403, "forbidden", `this operation needs the '${scope}' scope`, {
      requiredScope: scope,
    });
  }
}
