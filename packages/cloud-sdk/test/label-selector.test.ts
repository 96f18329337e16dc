import { describe, expect, it } from "vitest";
import { parseLabelSelector } from "../src/devices/label-selector.js";
import { CloudError } from "../src/errors.js";

const labels = { site: "berlin", tier: "prod", env: "stage", gpu: "" };

describe("parseLabelSelector", () => {
  it.each([
    ["", true],
    ["site=berlin", true],
    ["site==berlin", true],
    ["site = berlin", true],
    ["site=paris", false],
    ["site!=paris", true],
    ["missing!=x", true],
    ["site=berlin,tier!=canary,env in (prod,stage)", true],
    ["env in (prod)", false],
    ["env notin (prod, dev)", true],
    ["missing notin (a)", true],
    ["missing in (a)", false],
    ["gpu", true],
    ["!gpu", false],
    ["!legacy", true],
    ["legacy", false],
    ["gpu=", true],
  ])("%j matches: %s", (selector, expected) => {
    expect(parseLabelSelector(selector).matches(labels)).toBe(expected);
  });

  it.each([
    "site=berlin,",
    ",site=berlin",
    "env in (prod",
    "env in prod)",
    "env in ((a))",
    "site=ber lin",
    "si te=berlin",
    "=berlin",
    "!",
    "site=-bad",
    "x".repeat(5000),
  ])("%j does not parse: invalid_selector with the field", (selector) => {
    let caught: unknown;
    try {
      parseLabelSelector(selector, "targets.selector");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CloudError);
    expect(caught).toMatchObject({
      code: "invalid_selector",
      status: 400,
      details: { fields: [{ path: "targets.selector" }] },
    });
  });
});
