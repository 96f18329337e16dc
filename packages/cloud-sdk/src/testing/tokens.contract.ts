import assert from "node:assert/strict";
import { ConflictError } from "../errors.js";
import type { ApiToken, Store } from "../repos/index.js";
import { eachStore, expectCloudError, type MakeStore, nextId, T0 } from "./fixtures.js";
import type { TestHarness } from "./harness.js";

/** The TokenRepository contract every store implementation must meet. */
export function describeTokenRepositoryContract(
  harness: TestHarness,
  name: string,
  makeStore: MakeStore,
): void {
  const { describe, it } = harness;
  describe(`${name}: TokenRepository`, () => {
    let store: Store;
    eachStore(harness, makeStore, (s) => {
      store = s;
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
      assert.deepStrictEqual(created, expected);
      assert.deepStrictEqual(await store.tokens.findByHash(hash(1)), expected);
      assert.equal(await store.tokens.findByHash(hash(2)), undefined);
      assert.ok(!JSON.stringify(await store.tokens.list()).includes(hash(1)));
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
      assert.deepEqual(
        first.items.map((t) => t.id),
        ["7", "50"],
      );
      assert.deepEqual(
        (await store.tokens.list({ after: first.nextCursor })).items.map((t) => t.id),
        ["600"],
      );

      await store.tokens.touch("7", T0 + 99);
      await store.tokens.touch(nextId(), T0);
      assert.equal((await store.tokens.findByHash(hash(1)))?.lastUsedAt, T0 + 99);

      assert.equal(await store.tokens.delete("50"), true);
      assert.equal(await store.tokens.delete("50"), false);
      assert.equal(await store.tokens.findByHash(hash(0)), undefined);
      assert.deepEqual(
        (await store.tokens.list()).items.map((t) => t.id),
        ["7", "600"],
      );
    });
  });
}
