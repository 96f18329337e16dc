// The same driver checks through the package's CommonJS build.
const { DriverMissingError, openStore } = require("@cloudedge/cloud-sdk");

openStore("sqlite::memory:").then(
  () => console.log(JSON.stringify({ sqlite: "opened" })),
  (err) =>
    console.log(
      JSON.stringify({ sqlite: { driverMissing: err instanceof DriverMissingError, code: err.code } }),
    ),
);
