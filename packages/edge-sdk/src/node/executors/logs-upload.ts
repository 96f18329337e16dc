import { stat } from "node:fs/promises";
import { basename, posix } from "node:path";
import type SftpClient from "ssh2-sftp-client";
import { ExecutorError } from "../../errors.js";
import { defineExecutor, type Executor } from "../../executor.js";
import { type HostKeyCheck, hostKeyVerifier } from "../host-key.js";

/** The SFTP server logs go to, and how to authenticate and verify it. */
export interface SftpTarget {
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  /** OpenSSH or PEM private key (preferred), or a password. */
  privateKey?: string | Buffer;
  passphrase?: string;
  password?: string;
  /** Required: the server's host key is always verified (the original system skipped this). */
  hostKey: HostKeyCheck;
  /** Default `/var/log/devices_management`. */
  remoteDir?: string;
}

/** Options of logsUploadExecutor. */
export interface LogsUploadOptions {
  sftp: SftpTarget;
  /** The device id, for the remote directory name. */
  deviceId: string | (() => string | undefined);
  /** Local log files to upload, oldest first (e.g. `RotatingLog.files`). */
  files: () => Promise<string[]> | string[];
  /** Called before uploading (e.g. `RotatingLog.flush`). */
  beforeUpload?: () => Promise<void>;
  /** Connection (TCP + SSH handshake) time limit. Default 10 s, never past the deadline. */
  connectTimeoutMs?: number;
}

/** Stable `result.error.code`s of `logs.upload`. */
export const SftpErrorCode = {
  HOST_KEY_MISMATCH: "host_key_mismatch",
  AUTH_FAILED: "sftp_auth_failed",
  UNREACHABLE: "sftp_unreachable",
  PERMISSION_DENIED: "sftp_permission_denied",
  FAILED: "sftp_error",
} as const;

const REMOTE_DIR = /^\/[A-Za-z0-9_.\-/]{0,511}$/;

/**
 * `logs.upload`: uploads the local (rotated) log files over SFTP to
 * `<remoteDir>/<deviceId>/<UTC time>/`, verifying the server's host key. Params
 * `{remoteDir?}`. Returns the remote paths and byte counts. Failures are error results
 * (`host_key_mismatch`, `sftp_auth_failed`, `sftp_unreachable`, `sftp_permission_denied`).
 */
export function logsUploadExecutor(options: LogsUploadOptions): Executor {
  const target = options.sftp;
  const port = target.port ?? 22;
  const verify = hostKeyVerifier(target.hostKey, target.host, port); // throws on bad config, at setup
  if (!target.privateKey && !target.password)
    throw new TypeError("logs.upload needs a privateKey or a password");
  return defineExecutor("logs.upload", async (params, context) => {
    const requestedDir = (params as { remoteDir?: unknown } | null | undefined)?.remoteDir;
    if (
      requestedDir !== undefined &&
      (typeof requestedDir !== "string" || !REMOTE_DIR.test(requestedDir) || requestedDir.includes(".."))
    ) {
      throw new ExecutorError("invalid_params", "remoteDir must be an absolute path without '..'");
    }
    const deviceId = typeof options.deviceId === "function" ? options.deviceId() : options.deviceId;
    if (!deviceId) throw new ExecutorError("executor_error", "the device id is not known yet");
    await options.beforeUpload?.();
    const files = await options.files();
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
    const remoteDir = posix.join(
      (requestedDir as string | undefined) ?? target.remoteDir ?? "/var/log/devices_management",
      deviceId,
      stamp,
    );

    // Errors after a call settled (e.g. a late reset) are expected; the library would print them.
    const quiet = () => {};
    // Loaded on the first upload, not at start: ssh2 is ≈ 4 MiB of RSS an agent rarely needs.
    const { default: Sftp } = await import("ssh2-sftp-client");
    const client = new Sftp("cloudedge-logs-upload", { error: quiet, end: quiet, close: quiet });
    let hostKeyRejected = false;
    const abort = () => void client.end().catch(() => {});
    context.signal.addEventListener("abort", abort, { once: true });
    try {
      try {
        await client.connect({
          host: target.host,
          port,
          username: target.username,
          ...(target.privateKey ? { privateKey: target.privateKey } : {}),
          ...(target.passphrase ? { passphrase: target.passphrase } : {}),
          ...(target.password ? { password: target.password } : {}),
          readyTimeout: Math.max(1, Math.min(options.connectTimeoutMs ?? 10_000, context.timeoutMs)),
          retries: 0,
          hostVerifier: (key: Buffer) => {
            const ok = verify(key);
            if (!ok) hostKeyRejected = true;
            return ok;
          },
        } as SftpClient.ConnectOptions);
      } catch (error) {
        throw classify(error, hostKeyRejected, "connect");
      }
      const uploaded: Array<{ local: string; remote: string; bytes: number }> = [];
      try {
        await client.mkdir(remoteDir, true);
        for (const local of files) {
          const bytes = (await stat(local)).size;
          const remote = posix.join(remoteDir, basename(local));
          await client.fastPut(local, remote);
          uploaded.push({ local, remote, bytes });
        }
      } catch (error) {
        throw classify(error, false, "upload");
      }
      return {
        remoteDir,
        files: uploaded.map(({ remote, bytes }) => ({ path: remote, bytes })),
        totalBytes: uploaded.reduce((n, f) => n + f.bytes, 0),
      };
    } finally {
      context.signal.removeEventListener("abort", abort);
      await client.end().catch(() => {});
    }
  });
}

function classify(error: unknown, hostKeyRejected: boolean, phase: "connect" | "upload"): ExecutorError {
  const e = error as { code?: unknown; message?: unknown; level?: unknown };
  const message = typeof e?.message === "string" ? e.message : String(error);
  if (hostKeyRejected || /Host denied/.test(message)) {
    return new ExecutorError(
      SftpErrorCode.HOST_KEY_MISMATCH,
      "the SFTP server's host key does not match the configured one",
    );
  }
  if (/authentication methods failed/i.test(message) || e?.level === "client-authentication") {
    return new ExecutorError(SftpErrorCode.AUTH_FAILED, "the SFTP server rejected the credentials");
  }
  const code = typeof e?.code === "string" ? e.code : undefined;
  if (
    phase === "connect" &&
    (code === undefined ||
      [
        "ECONNREFUSED",
        "ETIMEDOUT",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "ENOTFOUND",
        "EAI_AGAIN",
        "ECONNRESET",
        "ERR_GENERIC_CLIENT",
      ].includes(code) ||
      /timed out/i.test(message))
  ) {
    return new ExecutorError(
      SftpErrorCode.UNREACHABLE,
      `the SFTP server is unreachable (${code ?? "timeout"})`,
    );
  }
  if (e?.code === 3 || /permission denied/i.test(message)) {
    return new ExecutorError(
      SftpErrorCode.PERMISSION_DENIED,
      "the SFTP server denied writing to the remote directory",
    );
  }
  return new ExecutorError(SftpErrorCode.FAILED, `SFTP ${phase} failed: ${message.slice(0, 200)}`);
}
