// Device ids and credentials shared by the harness, the hub under test and the generators.

/** Snowflake-shaped decimal ids: device i of the bench fleet. */
export function deviceId(i) {
  return String(1_000_000_000_000n + BigInt(i));
}

/** One secret for the whole fleet, so registration hashes once (bcrypt cost 10, as deployed). */
export const FLEET_SECRET = "bench-secret-0123456789";

/** The hub's resume-token key in every bench run (≥ 32 bytes). */
export const TOKEN_KEY = "bench-key-".repeat(8);

/** Credential generation of a freshly registered device (repos/device-model.ts INITIAL_GENERATION). */
export const INITIAL_GENERATION = 1;
