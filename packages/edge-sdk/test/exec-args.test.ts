import { describe, expect, it } from "vitest";
import { execExecutor } from "../src/node/executors/exec.js";
import { compileParams, expandArgv, wholeValue } from "../src/node/executors/exec-args.js";

const expand = (params: Parameters<typeof compileParams>[0], args: Record<string, string>) =>
  expandArgv(["/bin/prog", "{v}"], compileParams(params), args);
const refused = (params: Parameters<typeof compileParams>[0], value: string, reason: string) =>
  expect(() => expand(params, { v: value })).toThrow(
    expect.objectContaining({ code: "invalid_params", details: { argument: "v", reason } }),
  );

describe("exec argument patterns (issue #21 point 12)", () => {
  it("a configured pattern matches the whole value, however it is written", () => {
    for (const pattern of ["[a-z0-9 ]+", "[a-z]", /[a-z]+/, /[a-z]+/gm, "foo|bar"]) {
      refused({ v: { pattern } }, "--help; 5 $(id)", "pattern");
      refused({ v: { pattern } }, "x;id", "pattern");
    }
    refused({ v: { pattern: "foo|bar" } }, "foobar", "pattern");
    refused({ v: { pattern: "[a-z]+" } }, "abc\nxyz", "pattern");
    expect(expand({ v: { pattern: "foo|bar" } }, { v: "bar" })).toEqual(["/bin/prog", "bar"]);
    expect(expand({ v: { pattern: /[A-Z]+/i } }, { v: "abc" })).toEqual(["/bin/prog", "abc"]);
  });

  it("a leading dash is refused unless the parameter allows it, whatever its pattern", () => {
    refused({ v: { pattern: "-?[a-z.]+" } }, "-pfoo.service", "leading_dash");
    refused({ v: {} }, "--help", "leading_dash");
    refused({ v: { pattern: ".*" } }, "-", "leading_dash");
    expect(expand({ v: { pattern: "-[nv]", allowLeadingDash: true } }, { v: "-n" })).toEqual([
      "/bin/prog",
      "-n",
    ]);
    refused({ v: { pattern: "-[nv]", allowLeadingDash: true } }, "-x", "pattern");
  });

  it("defaults are checked like given values; the default pattern still applies", () => {
    expect(() => expand({ v: { default: "-rf" } }, {})).toThrow(
      expect.objectContaining({ code: "invalid_params" }),
    );
    refused({ v: {} }, "a b", "pattern");
    expect(expand({ v: {} }, { v: "host-1.example:22" })).toEqual(["/bin/prog", "host-1.example:22"]);
  });

  it("a pattern that does not compile (or an unknown onAgentRestart) is a TypeError when the executor is made", () => {
    expect(() => wholeValue("[a-z")).toThrow(TypeError);
    expect(() =>
      execExecutor({ allowlist: { x: { argv: ["x"], params: { v: { pattern: "(" } } } } }),
    ).toThrow(TypeError);
    const policy = "later" as unknown as "await";
    expect(() => execExecutor({ allowlist: { x: { argv: ["x"], onAgentRestart: policy } } })).toThrow(
      TypeError,
    );
  });
});
