import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../packages/edge-sdk/test/support/sshd.js";
import { Proc } from "./support/processes.js";

/** A private CA and a server certificate for 127.0.0.1, made with openssl for this test. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=cloudedge test CA",
  );
  run(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  );
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "1",
    "-extfile",
    "san.ext",
  );
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

describe("TLS: the server serves HTTPS and wss:// itself; the agent verifies certificates", () => {
  let dir: string;
  let port: number;
  let server: Proc;
  let certs: ReturnType<typeof makeCertificates>;
  let deviceId: string;
  let secret: string;
  const agents: Proc[] = [];

  const https = (path: string, method = "GET", body?: unknown, token?: string) =>
    new Promise<{ status: number; body: Record<string, string> }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path,
          method,
          ca: readFileSync(certs.ca),
          headers: {
            "content-type": "application/json",
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  const agent = (...extra: string[]) => {
    const proc = new Proc(
      [
        "run",
        "agent",
        "--",
        "--server",
        `wss://127.0.0.1:${port}/ws`,
        "--device-id",
        deviceId,
        "--data-dir",
        join(dir, `agent-${agents.length}`),
        ...extra,
      ],
      {
        CLOUDEDGE_DEVICE_SECRET: secret,
      },
    );
    agents.push(proc);
    return proc;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cloudedge-tls-"));
    certs = makeCertificates(dir);
    port = await freePort();
    server = new Proc(["start"], {
      PORT: String(port),
      HOST: "127.0.0.1",
      CLOUDEDGE_DB: "memory:",
      CLOUDEDGE_DATA_DIR: join(dir, "data"),
      CLOUDEDGE_TLS_CERT: certs.cert,
      CLOUDEDGE_TLS_KEY: certs.key,
      CLOUDEDGE_LOG_LEVEL: "warn",
    });
    await server.waitFor(/listening on https:\/\/127\.0\.0\.1:\d+/, 120_000);
    const token = readFileSync(join(dir, "data", "admin-token"), "utf8").trim();
    const created = await https("/api/v1/devices", "POST", { name: "tls-box" }, token);
    deviceId = created.body.id as string;
    secret = created.body.secret as string;
  }, 180_000);

  afterAll(async () => {
    for (const proc of agents) await proc.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves HTTPS with the configured certificate", async () => {
    expect(await https("/healthz")).toEqual({ status: 200, body: { status: "ok" } });
  });

  it("an agent trusting the private CA (--ca-file) comes online over wss://", async () => {
    const trusted = agent("--ca-file", certs.ca);
    await trusted.waitFor(/online as device/, 120_000);
    await trusted.stop();
  });

  it("an agent without the CA refuses the certificate and never gets online", async () => {
    const untrusted = agent();
    await untrusted.waitFor(/offline \(/, 120_000); // connection attempts fail, it keeps retrying
    expect(untrusted.stdout).not.toContain("online as device");
    await untrusted.stop();
  });

  it("--insecure accepts any certificate (for testing only)", async () => {
    const insecure = agent("--insecure");
    await insecure.waitFor(/online as device/, 120_000);
    await insecure.stop();
  });
});
