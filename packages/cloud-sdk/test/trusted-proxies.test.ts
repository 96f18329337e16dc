import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Cloud, createMemoryStore, type HubWebSocketServerOptions, TrustedProxies } from "../src/index.js";
import { createTeardown } from "../src/testing/teardown.js";
import { closeServer } from "./support/close-server.js";
import { WsDevice } from "./support/ws-device.js";

describe("TrustedProxies", () => {
  const proxies = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8, fd00::/8");

  it("trusts listed addresses and ranges, IPv4-mapped IPv6 included", () => {
    expect(proxies.trusts("127.0.0.1")).toBe(true);
    expect(proxies.trusts("::ffff:127.0.0.1")).toBe(true);
    expect(proxies.trusts("10.200.3.4")).toBe(true);
    expect(proxies.trusts("fd12::1")).toBe(true);
    expect(proxies.trusts("127.0.0.2")).toBe(false);
    expect(proxies.trusts("192.0.2.1")).toBe(false);
    expect(proxies.trusts("not-an-address")).toBe(false);
  });

  it("an untrusted peer is the client, whatever X-Forwarded-For says (anyone can send one)", () => {
    expect(proxies.clientAddress("192.0.2.9", "203.0.113.5")).toBe("192.0.2.9");
    expect(proxies.clientAddress("::ffff:192.0.2.9", undefined)).toBe("192.0.2.9");
    expect(proxies.clientAddress(undefined, "203.0.113.5")).toBe("unknown");
  });

  it("behind trusted proxies, the rightmost hop that is not one is the client", () => {
    expect(proxies.clientAddress("127.0.0.1", "203.0.113.5")).toBe("203.0.113.5");
    // The client wrote the leftmost entry itself: it proves nothing.
    expect(proxies.clientAddress("127.0.0.1", "1.1.1.1, 203.0.113.5, 10.1.1.1")).toBe("203.0.113.5");
    // Several header lines count as one list.
    expect(proxies.clientAddress("127.0.0.1", ["1.1.1.1", "203.0.113.5"])).toBe("203.0.113.5");
    // Only proxies in the chain: the leftmost of them.
    expect(proxies.clientAddress("127.0.0.1", "10.0.0.7, 10.0.0.8")).toBe("10.0.0.7");
    // No header: the proxy itself.
    expect(proxies.clientAddress("127.0.0.1", undefined)).toBe("127.0.0.1");
  });

  it("a malformed hop ends the walk at the last address it could trust", () => {
    expect(proxies.clientAddress("127.0.0.1", "<script>, 203.0.113.5")).toBe("203.0.113.5");
    expect(proxies.clientAddress("127.0.0.1", "203.0.113.5, bogus")).toBe("127.0.0.1");
    expect(proxies.clientAddress("127.0.0.1", "  ,  ")).toBe("127.0.0.1");
  });

  it("refuses entries that are not addresses or CIDR ranges, naming them", () => {
    expect(() => TrustedProxies.parse("10.0.0.0/33")).toThrow(/"10.0.0.0\/33"/);
    expect(() => TrustedProxies.parse("proxy.example.com")).toThrow(/not an IP address/);
    expect(() => TrustedProxies.parse("10.0.0.0/8/1")).toThrow(/not an IP address/);
    expect(() => TrustedProxies.parse("10.0.0.0/x")).toThrow(/not an IP address/);
    expect(TrustedProxies.parse(" , ").size).toBe(0);
  });
});

describe("the hub behind a proxy (real WebSockets)", () => {
  const teardown = createTeardown(afterEach);

  async function start(options: HubWebSocketServerOptions) {
    const cloud = new Cloud({
      store: createMemoryStore(),
      tokenKey: "proxy-test-key-".repeat(4),
      bcryptCost: 4,
      auth: { perAddress: { maxFailures: 3, windowMs: 60_000, lockMs: 60_000 } },
    });
    await cloud.start();
    const server = createServer();
    cloud.attach(server, "/ws", options);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    teardown.add(() => closeServer(server));
    teardown.add(() => cloud.close({ spreadMs: 10, graceMs: 100 }));
    const failures: string[] = [];
    cloud.hub.on("authFailed", (failure) => failures.push(failure.remoteAddress));
    return { cloud, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, failures };
  }

  let nextDevice = 424_200;
  /** A failed login from `client` (as the proxy would forward it); returns the close code. */
  async function failLogin(url: string, client: string): Promise<number> {
    const device = await WsDevice.open(url, { headers: { "X-Forwarded-For": client } });
    device.send({
      type: "hello",
      versions: [1],
      deviceId: String(nextDevice++), // a new device each time: only the address limit applies
      secret: "not-the-secret-123",
      agent: { name: "t", version: "1" },
      bootId: "b",
      desiredVersion: 0,
    });
    return (await device.closed).code;
  }

  it("trusting the proxy: login limits and auth-failure events see each device's own address", async () => {
    const { url, failures } = await start({ trustedProxies: TrustedProxies.parse("127.0.0.1") });
    // Two clients behind one proxy: the first locks itself out (4010), the second is unaffected.
    expect(await failLogin(url, "203.0.113.5")).toBe(4001);
    expect(await failLogin(url, "203.0.113.5")).toBe(4001);
    expect(await failLogin(url, "203.0.113.5")).toBe(4010);
    expect(await failLogin(url, "198.51.100.8")).toBe(4001);
    expect(failures).toEqual(["203.0.113.5", "203.0.113.5", "203.0.113.5", "198.51.100.8"]);
  });

  it("by default the header is ignored: a client cannot choose its own address", async () => {
    const { url, failures } = await start({});
    expect(await failLogin(url, "203.0.113.5")).toBe(4001);
    expect(await failLogin(url, "198.51.100.8")).toBe(4001);
    // Same TCP peer: the limit counts both, whatever they claimed.
    expect(await failLogin(url, "192.0.2.1")).toBe(4010);
    expect(new Set(failures)).toEqual(new Set(["127.0.0.1"]));
  });
});
