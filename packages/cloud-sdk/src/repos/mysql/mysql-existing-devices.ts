import type { MysqlRunner } from "./mysql-db.js";

const CHUNK = 500;

/**
 * Which of these devices exist, share-locked until the transaction ends: batch writers drop
 * rows of devices deleted meanwhile, and no delete can slip in before their inserts.
 */
export async function existingDevices(db: MysqlRunner, keys: bigint[]): Promise<Set<bigint>> {
  const found = new Set<bigint>();
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK);
    const rows = await db.rowsText(
      `SELECT id FROM devices WHERE id IN (${chunk.map(() => "?").join(", ")}) LOCK IN SHARE MODE`,
      chunk,
    );
    for (const row of rows) found.add(BigInt(String(row.id)));
  }
  return found;
}
