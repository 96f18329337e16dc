import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** No Docker engine here: these checks keep the Dockerfile honest about what it copies and runs. */
const ROOT = join(import.meta.dirname, "../../..");
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const lines = dockerfile.split("\n").filter((l) => !l.startsWith("#"));

describe("Dockerfile", () => {
  it("copies only paths that exist in the repository (build context)", () => {
    const sources = lines
      .filter((l) => /^COPY /.test(l) && !l.includes("--from="))
      .flatMap((l) =>
        l
          .replace(/^COPY\s+/, "")
          .split(/\s+/)
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
  });

  it("runs the built server as a non-root user, exposes 9090, checks /healthz, keeps data on a volume", () => {
    expect(dockerfile).toMatch(/^FROM node:20-bookworm AS build$/m);
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim AS runtime$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^EXPOSE 9090$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*examples\/server\/scripts\/healthcheck\.mjs/m);
    expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m);
    const cmd = /^CMD \["node", "([^"]+)"\]$/m.exec(dockerfile);
    expect(cmd?.[1]).toBe("examples/server/dist/main.js");
    expect(existsSync(join(ROOT, "examples/server/src/main.ts"))).toBe(true);
  });

  it("keeps node_modules and build output out of the context", () => {
    const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
    for (const entry of ["**/node_modules", "**/dist", ".git"]) expect(ignore).toContain(entry);
  });
});

describe("the container health check script", () => {
  it("says healthy (exit 0) against a running server", async () => {
    const { spawn } = await import("node:child_process");
    const { startTestServer } = await import("./support/server-fixture.js");
    const server = await startTestServer();
    const child = spawn(process.execPath, [join(ROOT, "examples/server/scripts/healthcheck.mjs")], {
      env: { ...process.env, PORT: new URL(server.url).port },
    });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    await server.close();
    expect(code).toBe(0);
  });

  it("says unhealthy (exit 1) when nothing listens", async () => {
    const { spawnSync } = await import("node:child_process");
    const result = spawnSync(process.execPath, [join(ROOT, "examples/server/scripts/healthcheck.mjs")], {
      env: { ...process.env, PORT: "1" },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
  });
});
