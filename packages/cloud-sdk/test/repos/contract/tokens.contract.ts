import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError } from "../../../src/errors.js";
import type { ApiToken, Store } from "../../../src/repos/index.js";
import { expectCloudError, type MakeStore, nextId, T0 } from "./fixtures.js";

/** The TokenRepository contract every store implementation must meet. */
export function describeTokenRepositoryContract(name: string, makeStore: MakeStore): void {
  describe(`${name}: TokenRepository`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const hash = (n: number) => n.toString(16).padStart(64, "0");
    const token = (n: number, overrides: Partial<ApiToken> = {}) => ({
      id: nextId(),
      name: `token ${n}`,
      scopes: ["read"] as ApiToken["scopes"],
      createdAt: T0,
      expiresAt: null,
      lastUsedAt: null,
      tokenHash: hash(n),
      ...overrides,
    });

    it("creates a token and finds it by hash, never returning the hash", async () => {
      const input = token(1, { scopes: ["read", "write", "admin"], expiresAt: T0 + 1000 });
      const created = await store.tokens.create(input);
      const { tokenHash: _hash, ...expected } = input;
      expect(created).toStrictEqual(expected);
      expect(await store.tokens.findByHash(hash(1))).toStrictEqual(expected);
      expect(await store.tokens.findByHash(hash(2))).toBeUndefined();
      expect(JSON.stringify(await store.tokens.list())).not.toContain(hash(1));
    });

    it("refuses a duplicate hash or id", async () => {
      const first = await store.tokens.create(token(1));
      await expectCloudError(store.tokens.create(token(1)), ConflictError, "conflict");
      await expectCloudError(store.tokens.create(token(2, { id: first.id })), ConflictError, "conflict");
    });

    it("lists by id with paging, deletes and touches", async () => {
      const ids = ["50", "7", "600"];
      for (const [i, id] of ids.entries()) await store.tokens.create(token(i, { id }));
      const first = await store.tokens.list({ limit: 2 });
      expect(first.items.map((t) => t.id)).toEqual(["7", "50"]);
      expect((await store.tokens.list({ after: first.nextCursor })).items.map((t) => t.id)).toEqual(["600"]);

      await store.tokens.touch("7", T0 + 99);
      await store.tokens.touch(nextId(), T0);
      expect((await store.tokens.findByHash(hash(1)))?.lastUsedAt).toBe(T0 + 99);

      expect(await store.tokens.delete("50")).toBe(true);
      expect(await store.tokens.delete("50")).toBe(false);
      expect(await store.tokens.findByHash(hash(0))).toBeUndefined();
      expect((await store.tokens.list()).items.map((t) => t.id)).toEqual(["7", "600"]);
    });
  });
}
