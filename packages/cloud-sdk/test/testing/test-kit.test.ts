import { AssertionError } from "node:assert";
import { assertInstanceOf, assertMatches, createTeardown } from "@cloudedge/cloud-sdk/testing";
import { describe, expect, it } from "vitest";

// The kit's own helpers, from the built package: what third-party suites lean on.
describe("assertMatches", () => {
  it("accepts a subset of an object, recursively, and equal arrays element by element", () => {
    assertMatches(
      { id: "1", name: "a", labels: { site: "x", tier: "y" }, items: [{ n: 1, extra: true }] },
      { name: "a", labels: { site: "x" }, items: [{ n: 1 }] },
    );
    assertMatches(new Error("boom"), { message: "boom" });
  });

  it("refuses a differing value, a missing key, an array of another length, naming the path", () => {
    expect(() => assertMatches({ a: { b: 1 } }, { a: { b: 2 } })).toThrow(/value\.a\.b/);
    expect(() => assertMatches({}, { a: undefined, b: 1 })).toThrow(/value\.b/);
    expect(() => assertMatches({ items: [1, 2] }, { items: [1] })).toThrow(/value\.items: expected 1 items/);
    expect(() => assertMatches(null, { a: 1 })).toThrow(AssertionError);
  });
});

describe("assertInstanceOf", () => {
  it("passes an instance and names both types otherwise", () => {
    assertInstanceOf(new TypeError("x"), Error);
    expect(() => assertInstanceOf(new Error("plain"), TypeError)).toThrow(
      /instance of TypeError, got Error: plain/,
    );
  });
});

describe("createTeardown", () => {
  it("runs cleanups newest first, once, and skips forgotten ones", async () => {
    const teardown = createTeardown();
    const ran: string[] = [];
    teardown.add(() => ran.push("store"));
    const forget = teardown.add(() => ran.push("forgotten"));
    teardown.add(async () => ran.push("server"));
    forget();
    await teardown.run();
    await teardown.run();
    expect(ran).toEqual(["server", "store"]);
  });

  it("runs every cleanup though one fails, then rethrows the first failure (unless told not to)", async () => {
    for (const ignoreErrors of [false, true]) {
      const teardown = createTeardown(undefined, { ignoreErrors });
      const ran: number[] = [];
      teardown.add(() => ran.push(1));
      teardown.add(() => Promise.reject(new Error("second")));
      teardown.add(() => {
        throw new Error("third");
      });
      const outcome = await teardown.run().then(
        () => "ok",
        (err: Error) => err.message,
      );
      expect(outcome).toBe(ignoreErrors ? "ok" : "third");
      expect(ran).toEqual([1]);
    }
  });

  it("registers its run on the hook it is given", async () => {
    let hook: (() => Promise<void>) | undefined;
    const teardown = createTeardown((fn) => {
      hook = fn;
    });
    let closed = false;
    teardown.add(() => {
      closed = true;
    });
    await hook?.();
    expect(closed).toBe(true);
  });
});
