import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

const SSHD = ["/usr/sbin/sshd", "/usr/bin/sshd"].find((p) => existsSync(p));

/** A real OpenSSH sshd on a loopback port, with generated host and user keys, in a temp dir. */
export interface TestSshd {
  dir: string;
  port: number;
  username: string;
  /** The client's private key (OpenSSH format). */
  userKey: string;
  /** The server's host public key line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  /** A directory the server may write to (absolute). */
  remoteRoot: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function keygen(file: string): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "cloudedge-test", "-f", file], {
    stdio: "ignore",
  });
}

export async function startSshd(options: { readOnly?: boolean } = {}): Promise<TestSshd> {
  if (!SSHD) {
    throw new Error(
      "OpenSSH sshd not found (/usr/sbin/sshd): install openssh-server (.ci/ensure-tools.sh does)",
    );
  }
  try {
    execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error("ssh-keygen not found: install openssh-client");
  }
  // Debian's sshd refuses to start without its privilege-separation directory.
  if (!existsSync("/run/sshd")) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), "edge-sshd-"));
  keygen(join(dir, "host_key"));
  keygen(join(dir, "user_key"));
  await copyFile(join(dir, "user_key.pub"), join(dir, "authorized_keys"));
  await chmod(join(dir, "authorized_keys"), 0o600);
  const remoteRoot = join(dir, "remote");
  await mkdir(remoteRoot);
  const port = await freePort();
  const username = userInfo().username;
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_key")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "UsePAM no",
    "StrictModes no",
    "PermitRootLogin yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    `Subsystem sftp internal-sftp${options.readOnly ? " -R" : ""}`,
    "LogLevel ERROR",
  ].join("\n");
  await writeFile(join(dir, "sshd_config"), `${config}\n`);
  const child: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitForPort(port, () => (child.exitCode !== null ? `sshd exited: ${stderr.trim()}` : undefined));
  return {
    dir,
    port,
    username,
    userKey: await readFile(join(dir, "user_key"), "utf8"),
    hostPublicKey: (await readFile(join(dir, "host_key.pub"), "utf8")).trim(),
    remoteRoot,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, failed: () => string | undefined): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const why = failed();
    if (why) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`sshd did not listen on ${port}`);
}
