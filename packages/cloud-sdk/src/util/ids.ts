import { Snowflake } from "@sapphire/snowflake";

/** cloudedge's Snowflake epoch: 2024-01-01T00:00:00Z. */
export const CLOUDEDGE_EPOCH = Date.UTC(2024, 0, 1);

export type IdGenerator = () => string;

/**
 * Snowflake ids as decimal strings (they exceed 2^53, so never JSON numbers). `workerId`
 * (0–31) keeps ids unique across the processes of a cluster.
 */
export function createIdGenerator(workerId = 0, processId = 0): IdGenerator {
  const snowflake = new Snowflake(CLOUDEDGE_EPOCH);
  const options = { workerId: BigInt(workerId & 31), processId: BigInt(processId & 31) };
  return () => snowflake.generate(options).toString();
}
