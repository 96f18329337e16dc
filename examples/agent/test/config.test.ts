import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadAgentConfig } from "../src/config.js";

const dir = mkdtempSync(join(tmpdir(), "agent-config-"));
const withFile = (content: unknown) => {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content));
  return loadAgentConfig(
    ["--server", "ws://hub/ws", "--device-id", "1", "--secret", "s", "--config", file],
    {},
  );
};

describe("agent config: collector (issue 19)", () => {
  it("takes network, temperature and slowIntervalMs from the config file", () => {
    const config = withFile({ collector: { network: false, temperature: true, slowIntervalMs: 120_000 } });
    expect(config).toMatchObject({
      collector: { network: false, temperature: true, slowIntervalMs: 120_000 },
    });
    expect(withFile({})).not.toHaveProperty("collector");
  });

  it.each([
    [{ collector: [] }, "collector must be an object"],
    [{ collector: { network: "no" } }, "collector.network must be true or false"],
    [{ collector: { slowIntervalMs: 10 } }, "collector.slowIntervalMs must be an integer ≥ 1000"],
    [{ collector: { interval: 5 } }, "collector has unknown keys: interval"],
  ])("refuses %j", (content, message) => {
    expect(() => withFile(content)).toThrow(ConfigError);
    expect(() => withFile(content)).toThrow(message);
  });

  it("the example config file loads", () => {
    const example = JSON.parse(readFileSync(new URL("../agent.example.json", import.meta.url), "utf8"));
    expect(withFile(example)).toMatchObject({ collector: { slowIntervalMs: 60_000 } });
  });
});
