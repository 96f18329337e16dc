import { chunks, placeholders } from "./batches.js";
import type { Dialect } from "./dialect.js";
import type { SqlRunner } from "./sql-db.js";

/**
 * Which of these devices exist, kept from deletion until the transaction ends: batch writers
 * drop rows of devices deleted meanwhile, and no delete can slip in before their inserts.
 */
export async function existingDevices(db: SqlRunner, dialect: Dialect, keys: bigint[]): Promise<Set<bigint>> {
  const found = new Set<bigint>();
  for (const chunk of chunks(keys)) {
    const rows = await db.allUncached(
      `SELECT id FROM devices WHERE id IN (${placeholders(chunk.length)})${dialect.forShare}`,
      chunk,
    );
    for (const row of rows) found.add(BigInt(String(row.id)));
  }
  return found;
}
