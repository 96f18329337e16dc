import type { JsonValue, WelcomePdu } from "@cloudedge/protocol";

/**
 * The device's credentials (docs/protocol.md §4.1): the secret from configuration and the
 * resume token from the last `welcome`. The token is preferred; it is skipped once expired
 * by the estimated hub clock, and dropped when the hub rejects it (4012).
 */
export class Credentials {
  private token: string | undefined;
  private tokenExpiresAt = 0;

  constructor(private readonly secret: string | undefined) {}

  get hasSecret(): boolean {
    return this.secret !== undefined && this.secret.length > 0;
  }

  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /** What goes into `hello`: the token while valid (by hub time), else the secret. */
  forHello(hubNow: number): { token: string } | { secret: string } | undefined {
    // A minute of margin: a token about to expire would cost a 4012 round trip.
    if (this.token !== undefined && this.tokenExpiresAt > hubNow + 60_000) return { token: this.token };
    if (this.hasSecret) return { secret: this.secret as string };
    if (this.token !== undefined) return { token: this.token };
    return undefined;
  }

  /** Stores the fresh token of a `welcome`. */
  accept(welcome: Pick<WelcomePdu, "token" | "tokenExpiresAt">): void {
    this.token = welcome.token;
    this.tokenExpiresAt = welcome.tokenExpiresAt;
  }

  /** Forgets the token (rejected by the hub). */
  dropToken(): void {
    this.token = undefined;
    this.tokenExpiresAt = 0;
  }

  /** The persisted form: token and expiry only, never the secret. */
  toJSON(): JsonValue | undefined {
    return this.token === undefined ? undefined : { token: this.token, expiresAt: this.tokenExpiresAt };
  }

  load(json: JsonValue | undefined): void {
    const value = json as { token?: unknown; expiresAt?: unknown } | undefined;
    if (value && typeof value.token === "string" && typeof value.expiresAt === "number") {
      this.token = value.token;
      this.tokenExpiresAt = value.expiresAt;
    }
  }
}
