import { describe, expect, it } from "vitest";
import { AuthFailureLog } from "../src/event-log/auth-failure-log.js";
import { ManualClock } from "./support/manual-clock.js";

describe("auth-failure log (merged rows)", () => {
  function setup() {
    const clock = new ManualClock();
    const rows: Array<{ deviceId: string; reason: string | null | undefined; data: any }> = [];
    const log = new AuthFailureLog(
      (deviceId, _kind, reason, data) => rows.push({ deviceId, reason, data }),
      clock,
      60_000,
    );
    const fail = (deviceId: string | undefined, reason: string, remoteAddress = "198.51.100.1") =>
      log.record({ ...(deviceId ? { deviceId } : {}), reason, remoteAddress, at: clock.now() });
    return { clock, rows, log, fail };
  }

  it("writes the first failure at once, then one row per window with the count", async () => {
    const { clock, rows, fail } = setup();
    fail("1", "bad_secret");
    expect(rows).toEqual([
      { deviceId: "1", reason: "bad_secret", data: { remoteAddress: "198.51.100.1", count: 1 } },
    ]);
    for (let i = 0; i < 999; i++)
      fail("1", i % 2 ? "token_rejected" : "rate_limited", `198.51.100.${i % 20}`);
    expect(rows).toHaveLength(1);
    await clock.advance(60_000);
    expect(rows).toHaveLength(2);
    expect(rows[1]?.data).toMatchObject({ count: 999, reasons: { token_rejected: 499, rate_limited: 500 } });
    expect(rows[1]?.data.remoteAddresses).toHaveLength(10);
    // A quiet window forgets the device: its next failure is written at once again.
    await clock.advance(60_000);
    fail("1", "bad_secret");
    expect(rows).toHaveLength(3);
  });

  it("counts failures refused without a lookup only into a window already open for that id", async () => {
    const { clock, rows, log } = setup();
    const held = (claimedDeviceId: string) =>
      log.record({ claimedDeviceId, reason: "rate_limited", remoteAddress: "198.51.100.1", at: clock.now() });
    held("7"); // no proof device 7 exists: not logged
    expect(rows).toEqual([]);
    log.record({ deviceId: "7", reason: "bad_secret", remoteAddress: "198.51.100.1", at: clock.now() });
    held("7");
    held("7");
    await clock.advance(60_000);
    expect(rows.map((r) => [r.reason, r.data.count])).toEqual([
      ["bad_secret", 1],
      ["rate_limited", 2],
    ]);
  });

  it("keeps devices apart, skips failures naming no device, and writes what is open at close", () => {
    const { rows, log, fail } = setup();
    fail("1", "bad_secret");
    fail("2", "bad_secret");
    fail(undefined, "unknown_device");
    fail("2", "bad_secret");
    log.close();
    expect(rows.map((r) => [r.deviceId, r.data.count])).toEqual([
      ["1", 1],
      ["2", 1],
      ["2", 1],
    ]);
  });
});
