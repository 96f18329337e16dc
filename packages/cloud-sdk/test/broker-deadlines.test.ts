import { describe, expect, it } from "vitest";
import { type DeadlineFields, overdue } from "../src/broker/command-deadlines.js";

const NOW = 10_000;
const base: DeadlineFields = { status: "QUEUED", attempts: 0, deadline: null, expiresAt: null };

describe("overdue(command, now)", () => {
  it.each<[string, Partial<DeadlineFields>, ReturnType<typeof overdue>]>([
    ["queued, no TTL", {}, undefined],
    ["queued, TTL ahead", { expiresAt: NOW + 1 }, undefined],
    ["queued, TTL reached", { expiresAt: NOW }, "expire"],
    ["queued, TTL passed", { expiresAt: NOW - 1 }, "expire"],
    // A requeued command was sent once: its deadline governs, not its TTL.
    [
      "requeued, TTL passed, deadline ahead",
      { attempts: 1, expiresAt: NOW - 1, deadline: NOW + 1 },
      undefined,
    ],
    ["requeued, deadline passed", { attempts: 1, expiresAt: NOW + 1, deadline: NOW - 1 }, "timeout"],
    ["sent, deadline ahead", { status: "SENT", attempts: 1, deadline: NOW + 1 }, undefined],
    ["sent, deadline reached", { status: "SENT", attempts: 1, deadline: NOW }, "timeout"],
    [
      "sent, TTL passed (never expires once sent)",
      { status: "SENT", expiresAt: NOW - 1, deadline: NOW + 1 },
      undefined,
    ],
    ["delivered, deadline passed", { status: "DELIVERED", attempts: 2, deadline: NOW - 1 }, "timeout"],
    [
      "deadline and TTL both passed: the deadline first",
      { deadline: NOW - 1, expiresAt: NOW - 1 },
      "timeout",
    ],
  ])("%s → %s", (_name, fields, verdict) => {
    expect(overdue({ ...base, ...fields }, NOW)).toBe(verdict);
  });
});
