import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonValue } from "@cloudedge/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeClient } from "../src/edge-client.js";
import type { ExecutionContext } from "../src/executor.js";
import { type LogsUploadOptions, logsUploadExecutor } from "../src/node/executors/logs-upload.js";
import { sha256Fingerprint } from "../src/node/host-key.js";
import { next, startHub } from "./support/hub.js";
import { freePort, startSshd, type TestSshd } from "./support/sshd.js";

// Real OpenSSH sshd on loopback; uploaded files are compared byte for byte.

let sshd: TestSshd;
let readOnly: TestSshd;
let local: string;
let files: string[];
let fingerprint: string;

beforeAll(async () => {
  [sshd, readOnly] = await Promise.all([startSshd(), startSshd({ readOnly: true })]);
  local = await mkdtemp(join(tmpdir(), "edge-logs-"));
  files = [join(local, "agent.1.log"), join(local, "agent.2.log")];
  await writeFile(files[0]!, randomBytes(300_000)); // binary, and bigger than one SFTP chunk
  await writeFile(files[1]!, '{"msg":"hello"}\n');
  fingerprint = sha256Fingerprint(Buffer.from(sshd.hostPublicKey.split(" ")[1]!, "base64"));
}, 60_000);

afterAll(async () => {
  await Promise.all([sshd?.stop(), readOnly?.stop(), local && rm(local, { recursive: true, force: true })]);
});

function context(timeoutMs = 20_000): ExecutionContext {
  return {
    commandId: "c",
    method: "logs.upload",
    signal: new AbortController().signal,
    deadline: Date.now() + timeoutMs,
    timeoutMs,
    afterResult: () => {},
  };
}

function uploader(server: TestSshd, overrides: Partial<LogsUploadOptions["sftp"]> = {}) {
  return logsUploadExecutor({
    deviceId: "1189273498234982400",
    files: () => files,
    sftp: {
      host: "127.0.0.1",
      port: server.port,
      username: server.username,
      privateKey: server.userKey,
      hostKey: { fingerprint },
      remoteDir: join(server.remoteRoot, "devices_management"),
      ...overrides,
    },
  });
}

type Upload = { remoteDir: string; files: Array<{ path: string; bytes: number }>; totalBytes: number };

async function expectSameFiles(result: Upload) {
  expect(result.files.map((f) => f.path.split("/").pop())).toEqual(["agent.1.log", "agent.2.log"]);
  for (const [i, file] of result.files.entries()) {
    const original = await readFile(files[i]!);
    expect(file.bytes).toBe(original.length);
    expect((await readFile(file.path)).equals(original)).toBe(true);
  }
  expect(result.totalBytes).toBe(300_000 + 16);
}

describe("logs.upload over SFTP (real sshd)", () => {
  it("uploads the log files byte for byte under <remoteDir>/<deviceId>/<time>/, host key pinned by fingerprint", async () => {
    const result = (await uploader(sshd).execute(null, context())) as Upload;
    expect(result.remoteDir).toMatch(
      new RegExp(`^${sshd.remoteRoot}/devices_management/1189273498234982400/\\d{8}T\\d{6}Z$`),
    );
    await expectSameFiles(result);
  });

  it("verifies against a known_hosts file, plain or hashed", async () => {
    const blob = sshd.hostPublicKey.split(" ").slice(0, 2).join(" ");
    const plain = join(local, "known_hosts");
    await writeFile(plain, `# test\n[127.0.0.1]:${sshd.port} ${blob}\n`);
    await expectSameFiles(
      (await uploader(sshd, { hostKey: { knownHostsFile: plain } }).execute(null, context())) as Upload,
    );

    const salt = randomBytes(20);
    const hash = createHmac("sha1", salt).update(`[127.0.0.1]:${sshd.port}`).digest("base64");
    const hashed = join(local, "known_hosts_hashed");
    await writeFile(hashed, `|1|${salt.toString("base64")}|${hash} ${blob}\n`);
    await expectSameFiles(
      (await uploader(sshd, { hostKey: { knownHostsFile: hashed } }).execute(null, context())) as Upload,
    );
  });

  it("refuses a server whose host key does not match: host_key_mismatch", async () => {
    const other = sha256Fingerprint(randomBytes(51));
    await expect(
      uploader(sshd, { hostKey: { fingerprint: other } }).execute(null, context()),
    ).rejects.toMatchObject({
      code: "host_key_mismatch",
    });
    const wrongPort = join(local, "known_hosts_other");
    await writeFile(wrongPort, `[127.0.0.1]:1 ${sshd.hostPublicKey}\n`);
    await expect(
      uploader(sshd, { hostKey: { knownHostsFile: wrongPort } }).execute(null, context()),
    ).rejects.toMatchObject({ code: "host_key_mismatch" });
  });

  it("a wrong user key is sftp_auth_failed", async () => {
    await expect(
      uploader(sshd, { privateKey: readOnly.userKey }).execute(null, context()),
    ).rejects.toMatchObject({
      code: "sftp_auth_failed",
    });
  });

  it("a closed port is sftp_unreachable", async () => {
    const port = await freePort();
    await expect(uploader(sshd, { port }).execute(null, context())).rejects.toMatchObject({
      code: "sftp_unreachable",
    });
  });

  it("a silent server does not hang past the deadline", async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const started = Date.now();
    try {
      await expect(uploader(sshd, { port }).execute(null, context(800))).rejects.toMatchObject({
        code: "sftp_unreachable",
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.close();
    }
  });

  it("a read-only server is sftp_permission_denied", async () => {
    const fp = sha256Fingerprint(Buffer.from(readOnly.hostPublicKey.split(" ")[1]!, "base64"));
    await expect(
      uploader(readOnly, { hostKey: { fingerprint: fp } }).execute(
        { remoteDir: readOnly.remoteRoot } as JsonValue,
        context(),
      ),
    ).rejects.toMatchObject({ code: "sftp_permission_denied" });
  });

  it("refuses configuration without host key verification", () => {
    expect(() => uploader(sshd, { hostKey: { fingerprint: [] } })).toThrow(TypeError);
  });

  it("runs as a command from the hub through EdgeClient", async () => {
    const hub = await startHub();
    try {
      const { device, secret } = await hub.cloud.devices.register({ name: "sftp" });
      const client: EdgeClient = new EdgeClient({
        url: hub.url,
        deviceId: device.id,
        secret,
        executors: [
          logsUploadExecutor({
            deviceId: (): string | undefined => client.deviceId,
            files: () => files,
            sftp: {
              host: "127.0.0.1",
              port: sshd.port,
              username: sshd.username,
              privateKey: sshd.userKey,
              hostKey: { fingerprint },
            },
          }),
        ],
      });
      const online = next(client, "online");
      await client.start();
      await online;
      const remoteDir = join(sshd.remoteRoot, "via-hub");
      const result = (await hub.cloud.broker.call(
        device.id,
        "logs.upload",
        { remoteDir },
        { timeoutMs: 20_000 },
      )) as Upload;
      expect(result.remoteDir.startsWith(`${remoteDir}/${device.id}/`)).toBe(true);
      await expectSameFiles(result);
      await client.close();
    } finally {
      await hub.stop();
    }
  });
});
