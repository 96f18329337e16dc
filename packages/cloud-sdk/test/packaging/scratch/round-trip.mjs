// Run inside a scratch project that installed the packed tarballs and mysql2 only.
// Prints one JSON line for packed-install.test.ts to check.
import { DriverMissingError, openStore } from "@cloudedge/cloud-sdk";

const [mysqlUrl] = process.argv.slice(2);
const report = {};

const store = await openStore(mysqlUrl);
try {
  await store.devices.create({ id: "42", name: "packed", secretHash: "h", createdAt: Date.now() });
  report.dialect = store.dialect;
  report.devices = (await store.devices.list()).items.map((d) => d.name);
} finally {
  await store.close();
}

report.sqlite = await openStore("sqlite::memory:").then(
  () => "opened",
  (err) => ({ driverMissing: err instanceof DriverMissingError, code: err.code, message: err.message }),
);
report.nats = await import("@cloudedge/cloud-sdk/nats").then(
  () => "imported",
  (err) => err.code,
);
console.log(JSON.stringify(report));
