import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { afterAll } from "vitest";
import { describeEndToEnd } from "./e2e.js";

/** A unique database on the real MariaDB (the server creates it at start); dropped afterwards. */
const SERVER = process.env["CLOUDEDGE_TEST_MYSQL_URL"] ?? "mysql://root@127.0.0.1:3306";
const database = `cloudedge_e2e_${process.pid}_${randomBytes(4).toString("hex")}`;
afterAll(async () => {
  const admin = await mysql.createConnection(SERVER);
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.end();
});

describeEndToEnd("MySQL (real MariaDB)", () => `${SERVER.replace(/\/+$/, "")}/${database}`);
