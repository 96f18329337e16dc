import { describe, expect, it, vi } from "vitest";
import { ApiTokenService, createMemoryStore, hashToken, hasScope } from "../src/index.js";
import { ManualClock } from "./support/manual-clock.js";

function setup() {
  const store = createMemoryStore();
  const clock = new ManualClock();
  let next = 1;
  const tokens = new ApiTokenService({ tokens: store.tokens, ids: () => String(next++), clock });
  return { store, clock, tokens };
}

describe("ApiTokenService", () => {
  it("shows a created token once and stores only its SHA-256 hash", async () => {
    const { store, tokens } = setup();
    const created = await tokens.create({ name: "ci", scopes: ["write"] });
    expect(created.token).toMatch(/^ce_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      id: "1",
      name: "ci",
      scopes: ["write"],
      expiresAt: null,
      lastUsedAt: null,
    });
    expect(await store.tokens.findByHash(hashToken(created.token))).toMatchObject({ id: "1" });
    expect(JSON.stringify((await tokens.list()).items)).not.toContain(created.token);
    const verified = await tokens.verify(created.token);
    expect(verified).toMatchObject({ token: { id: "1" }, tokenHash: hashToken(created.token) });
    expect(await tokens.verify("ce_unknown")).toBeUndefined();
  });

  it("stops accepting a token when it expires (Clock time)", async () => {
    const { clock, tokens } = setup();
    const { token, expiresAt } = await tokens.create({
      name: "short",
      scopes: ["read"],
      expiresInMs: 60_000,
    });
    expect(expiresAt).toBe(clock.now() + 60_000);
    await clock.advance(59_999);
    expect(await tokens.verify(token)).toBeDefined();
    await clock.advance(1);
    expect(await tokens.verify(token)).toBeUndefined();
    expect(await tokens.valid(hashToken(token))).toBeUndefined();
  });

  it("writes lastUsedAt at most once a minute per token", async () => {
    const { store, clock, tokens } = setup();
    const { token, id } = await tokens.create({ name: "busy", scopes: ["read"] });
    const touch = vi.spyOn(store.tokens, "touch");
    const first = clock.now();
    await tokens.verify(token);
    await clock.advance(30_000);
    await tokens.verify(token);
    await clock.advance(30_000);
    await tokens.verify(token); // exactly 60 s later: still within the minute
    expect(touch.mock.calls).toEqual([[id, first]]);
    await clock.advance(1);
    await tokens.verify(token);
    expect(touch.mock.calls).toEqual([
      [id, first],
      [id, first + 60_001],
    ]);
    expect((await store.tokens.findByHash(hashToken(token)))?.lastUsedAt).toBe(first + 60_001);
  });

  it("revokes by id; an unknown id is not_found", async () => {
    const { tokens } = setup();
    const { token, id } = await tokens.create({ name: "gone", scopes: ["admin"] });
    await tokens.revoke(id);
    expect(await tokens.verify(token)).toBeUndefined();
    await expect(tokens.revoke(id)).rejects.toMatchObject({ code: "not_found", status: 404 });
  });

  it("ranks scopes: admin implies write implies read", () => {
    expect(hasScope({ scopes: ["admin"] }, "read")).toBe(true);
    expect(hasScope({ scopes: ["write"] }, "write")).toBe(true);
    expect(hasScope({ scopes: ["write"] }, "admin")).toBe(false);
    expect(hasScope({ scopes: ["read"] }, "write")).toBe(false);
  });
});
