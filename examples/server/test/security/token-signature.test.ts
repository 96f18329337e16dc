// Issue #21.13: resume-token signatures are compared exactly (unpadded base64url, the same
// characters): other spellings of the same bytes are refused.
import { TrustedProxies } from "@cloudedge/cloud-sdk";
import { afterEach, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server-fixture.js";
import { summary, tryHello } from "./attacker.js";

let server: TestServer;
afterEach(() => server.close());

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

it("a padded or respelled signature gets 4012 token_rejected; the token as issued resumes", async () => {
  // Each variant from its own address, so the token-failure limit does not hide the verdict.
  server = await startTestServer({ ws: { trustedProxies: TrustedProxies.parse("127.0.0.1") } });
  const { body } = await server.api("POST", "/api/v1/devices", { body: { name: "dev" } });
  const first = await tryHello(server.wsUrl, { deviceId: body.id, secret: body.secret });
  const token = first.welcome?.token as string;
  await first.device.close();
  // The last of 43 characters carries 2 bits no byte uses: flipping one keeps the bytes.
  const respelled = token.slice(0, -1) + B64URL[B64URL.indexOf(token.slice(-1)) ^ 1];
  expect(Buffer.from(respelled.slice(-43), "base64url")).toEqual(Buffer.from(token.slice(-43), "base64url"));

  const variants = [`${token}=`, `${token}==`, respelled];
  for (const [i, variant] of variants.entries()) {
    const seen = await tryHello(server.wsUrl, { deviceId: body.id, token: variant }, `198.51.100.${i + 1}`);
    expect(summary(seen)).toBe("4012 token_rejected");
  }
  const resumed = await tryHello(server.wsUrl, { deviceId: body.id, token });
  expect(summary(resumed)).toBe("welcome");
});
