// Issue #21.9: an unknown device id costs what a wrong secret costs — the dummy hash it is
// checked against is made at the configured bcrypt cost (here 12, the point of the test).
import { bcryptStats } from "@cloudedge/cloud-sdk";
import { afterEach, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server-fixture.js";
import { summary, tryHello } from "./attacker.js";

let server: TestServer;
afterEach(() => server.close());

it("with bcrypt cost 12, unknown ids and wrong secrets look the same and both run one cost-12 bcrypt", async () => {
  server = await startTestServer({ cloud: { bcryptCost: 12 } });
  expect(await server.cloud.authenticator.dummyHash).toMatch(/^\$2b\$12\$/);
  const { body } = await server.api("POST", "/api/v1/devices", { body: { name: "real" } });
  expect((await server.store.devices.getCredentials(body.id))?.secretHash).toMatch(/^\$2b\$12\$/);

  const attempts = [
    { deviceId: body.id, secret: "wrong-secret-wrong-secret" },
    { deviceId: "999999999999", secret: "wrong-secret-wrong-secret" },
  ];
  const seen = [];
  for (const fields of attempts) {
    const before = bcryptStats.verifications;
    const outcome = await tryHello(server.wsUrl, fields, undefined);
    seen.push({
      outcome: summary(outcome),
      message: outcome.error?.message,
      bcrypt: bcryptStats.verifications - before,
    });
  }
  expect(seen[0]).toEqual({ outcome: "4001 auth_failed", message: "authentication failed", bcrypt: 1 });
  expect(seen[1]).toEqual(seen[0]);
});
