import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";
import { type ApiBody, System } from "../support/system.js";

/**
 * Issue #21 point 12, as an API client with a `write` token sees it: exec argument patterns
 * match whole values, and a leading "-" (an option of the program) is refused unless the
 * parameter declares `allowLeadingDash`. Real server and agent processes; the shipped
 * example config's allowlist plus patterns an operator might write unanchored.
 */
describe("security: exec argument patterns (server + agent processes)", () => {
  let system: System;
  let writer: string;
  const example = JSON.parse(readFileSync(join(ROOT, "examples/agent/agent.example.json"), "utf8"));

  beforeAll(async () => {
    system = new System(() => ({
      statusIntervalMs: 5000,
      exec: {
        allowlist: {
          ...example.exec.allowlist,
          // Unanchored, as written by an operator who meant "letters, digits, spaces".
          say: { argv: ["/bin/echo", "{text}"], params: { text: { pattern: "[a-z0-9 ]+" } } },
          unit: { argv: ["/bin/echo", "{unit}"], params: { unit: { pattern: "-?[a-z.]+\\.service" } } },
          count: {
            argv: ["/bin/echo", "{flag}"],
            params: { flag: { pattern: "-[nc]", allowLeadingDash: true } },
          },
        },
      },
    }));
    await system.start();
    const created = await system.api("POST", "/api/v1/tokens", { name: "writer", scopes: ["read", "write"] });
    expect(created.status).toBe(201);
    writer = created.body.token;
  }, 240_000);

  afterAll(async () => {
    await system?.stop();
  });

  /** What the attacker gets for `exec {name, args}`, sent with the write token and wait: true. */
  const attempt = async (name: string, args: Record<string, string>) => {
    const response = await fetch(
      `http://127.0.0.1:${system.port}/api/v1/devices/${system.deviceId}/commands`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${writer}`, "content-type": "application/json" },
        body: JSON.stringify({ method: "exec", params: { name, args }, wait: true }),
      },
    );
    return { status: response.status, body: (await response.json()) as ApiBody };
  };

  it("an unanchored pattern does not admit shell-looking text around a match", async () => {
    for (const text of ["--help; 5 $(id)", "hello; id", "ok\nrm -rf /"]) {
      const seen = await attempt("say", { text });
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ status: "FAILED", error: { code: "invalid_params" } });
    }
    const fine = await attempt("say", { text: "hello 42" });
    expect(fine.body).toMatchObject({ status: "SUCCEEDED", result: { exitCode: 0, stdout: "hello 42\n" } });
  });

  it("a leading dash is refused even where the pattern allows it, unless declared", async () => {
    for (const [name, args] of [
      ["unit", { unit: "-pfoo.service" }],
      ["service-status", { unit: "-pfoo.service" }],
      ["service-status", { unit: "--help" }],
    ] as const) {
      const seen = await attempt(name, args);
      expect(seen.body).toMatchObject({
        status: "FAILED",
        error: {
          code: "invalid_params",
          details: { reason: expect.stringMatching(/^(leading_dash|pattern)$/) },
        },
      });
    }
    expect((await attempt("unit", { unit: "-pfoo.service" })).body.error.details).toEqual({
      argument: "unit",
      reason: "leading_dash",
    });
    const declared = await attempt("count", { flag: "-n" });
    expect(declared.body).toMatchObject({ status: "SUCCEEDED", result: { exitCode: 0, stdout: "" } });
    expect((await attempt("count", { flag: "-e" })).body).toMatchObject({
      status: "FAILED",
      error: { code: "invalid_params", details: { reason: "pattern" } },
    });
  });
});
