// The fleet registered straight into MySQL, as fast as the database copies rows.
import { hashSecret, openStore } from "@cloudedge/cloud-sdk";
import { deviceId, FLEET_SECRET } from "../fleet-ids.mjs";
import { MYSQL, mysqlClient } from "../util.mjs";

/**
 * A fresh database with the schema (the store's own migrations) and devices 0…N−1 of
 * fleet-ids.mjs sharing one secret hash: device 0 through the store, the rest copied from it
 * by INSERT … SELECT, doubling each time (17 statements for 100,000 devices).
 */
export async function registerFleet(database, devices) {
  const store = await openStore(`${MYSQL}/${database}`);
  try {
    await store.devices.create({
      id: deviceId(0),
      name: "bench-0",
      // Tokens are the credential here; the secret only backs a rejected token up (cost 4: cheap).
      secretHash: await hashSecret(FLEET_SECRET, 4),
      createdAt: Date.now(),
    });
  } finally {
    await store.close();
  }
  const base = deviceId(0);
  const copied =
    "type, description, labels, disabled, secret_hash, generation, serial_number, model, nics, software, " +
    "online, connected_at, last_seen_at, created_at, updated_at";
  const statements = [];
  for (let have = 1; have < devices; have *= 2) {
    statements.push(
      `INSERT INTO devices (id, name, ${copied}) SELECT id + ${have}, CONCAT('bench-', id - ${base} + ${have}), ` +
        `${copied} FROM devices WHERE id < ${base} + ${Math.min(have, devices - have)};`,
    );
  }
  if (statements.length > 0) mysqlClient(statements.join("\n"), database);
}
