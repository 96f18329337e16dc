import { describe, expect, it } from "vitest";
import { ConfigError, helpText, loadConfig, type ServerConfig } from "../src/config.js";
import { defaultMaxConnections } from "../src/http/server-limits.js";

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig(argv, env) as ServerConfig;

describe("server configuration", () => {
  it("defaults: port 9090, SQLite in the data dir, one worker, no trusted proxy", () => {
    const config = load([]);
    expect(config).toMatchObject({
      port: 9090,
      db: "sqlite:./data/cloudedge.db",
      dbTimeoutMs: 5000,
      workers: 1,
    });
    expect(config.trustProxy.size).toBe(0);
  });

  it("HTTP limits: defaults for a proxy in front, each settable, headers within the request time", () => {
    expect(load([]).http).toMatchObject({
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 120_000,
      keepAliveTimeoutMs: 65_000,
      idleTimeoutMs: 20_000,
    });
    const set = load(["--http-max-connections", "50"], {
      CLOUDEDGE_HTTP_HEADERS_TIMEOUT_MS: "1000",
      CLOUDEDGE_HTTP_REQUEST_TIMEOUT_MS: "2000",
      CLOUDEDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS: "3000",
      CLOUDEDGE_HTTP_IDLE_TIMEOUT_MS: "4000",
    }).http;
    expect(set).toEqual({
      maxConnections: 50,
      maxConnectionsPerAddress: 12, // a quarter: one address cannot take them all
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
      keepAliveTimeoutMs: 3000,
      idleTimeoutMs: 4000,
    });
    expect(load([], { CLOUDEDGE_HTTP_MAX_CONNECTIONS_PER_ADDRESS: "0" }).http.maxConnectionsPerAddress).toBe(
      0,
    );
    expect(() => load([], { CLOUDEDGE_HTTP_HEADERS_TIMEOUT_MS: "130000" })).toThrow(/must not exceed/);
    expect(() => load([], { CLOUDEDGE_HTTP_MAX_CONNECTIONS: "0" })).toThrow(/CLOUDEDGE_HTTP_MAX_CONNECTIONS/);
  });

  it("maxConnections by default admits every session and handshake, but stays below the open-file limit", () => {
    expect(defaultMaxConnections(19_000, 10_000, 1_048_576)).toBe(30_024);
    expect(defaultMaxConnections(19_000, 10_000, 1024)).toBe(960);
    expect(defaultMaxConnections(100, 10, undefined)).toBe(1134);
  });

  it("flags win over environment variables", () => {
    expect(load(["--port", "8080"], { PORT: "7070" }).port).toBe(8080);
    expect(load([], { PORT: "7070" }).port).toBe(7070);
    expect(load([], { CLOUDEDGE_DB_TIMEOUT_MS: "2000" }).dbTimeoutMs).toBe(2000);
  });

  it("trusts the proxies CLOUDEDGE_TRUST_PROXY lists, addresses and CIDR ranges", () => {
    const { trustProxy } = load([], { CLOUDEDGE_TRUST_PROXY: "10.0.0.0/8, 192.168.1.5" });
    expect(trustProxy.trusts("10.1.2.3")).toBe(true);
    expect(trustProxy.trusts("192.168.1.5")).toBe(true);
    expect(trustProxy.trusts("192.168.1.6")).toBe(false);
    expect(trustProxy.clientAddress("10.1.2.3", "203.0.113.9")).toBe("203.0.113.9");
  });

  it("refuses a bad value with a message naming the setting and the entry", () => {
    expect(() => load(["--trust-proxy", "lb.example.com"])).toThrow(ConfigError);
    expect(() => load(["--trust-proxy", "lb.example.com"])).toThrow(
      'CLOUDEDGE_TRUST_PROXY: not an IP address or CIDR range: "lb.example.com"',
    );
    expect(() => load([], { PORT: "http" })).toThrow('PORT must be an integer in 0..65535 (got "http")');
    expect(() => load(["--workers", "2"])).toThrow(/needs CLOUDEDGE_NATS_URL/);
    expect(() => load([], { CLOUDEDGE_DB_TIMEOUT_MS: "0" })).toThrow(/CLOUDEDGE_DB_TIMEOUT_MS must be/);
    expect(() => load(["--nats-prefix", "a.b"])).toThrow(/CLOUDEDGE_NATS_PREFIX must be/);
    // A guessable admin token would open the whole API.
    expect(() => load([], { CLOUDEDGE_ADMIN_TOKEN: "admin" })).toThrow(
      /CLOUDEDGE_ADMIN_TOKEN must be at least 32 characters/,
    );
    expect(load([], { CLOUDEDGE_ADMIN_TOKEN: "x".repeat(32) }).adminToken).toBe("x".repeat(32));
  });

  it("--help lists every setting with its environment variable", () => {
    expect(loadConfig(["--help"], {})).toBe("help");
    expect(helpText()).toMatch(/--trust-proxy\s+CLOUDEDGE_TRUST_PROXY/);
  });
});
