import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { crc32 } from "node:zlib";

/** Bytes before each record's payload: u32 LE length, u32 LE CRC-32 of the payload. */
const HEADER = 8;
/** A length beyond this is corruption, not a record (a batch of 2,000 status reports is ≈1 MiB). */
const MAX_RECORD = 64 * 1024 * 1024;

/** What reading a journal found. */
export interface JournalContents<T> {
  records: T[];
  /** Bytes after the last intact record (a torn write or corruption); 0 when the file is whole. */
  skippedBytes: number;
  /** Why the tail was skipped, when it was. */
  problem?: "torn" | "checksum" | "length" | "json";
}

/** One record: length, checksum, JSON payload. */
export function encodeRecord(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), "utf8");
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

/**
 * Every intact record from the start of `bytes`. Reading stops at the first record that is
 * short (a write torn by a crash), fails its checksum or does not parse: nothing after it can
 * be trusted to start on a record boundary, so the rest is reported as skipped, never thrown.
 */
export function decodeRecords<T>(bytes: Buffer): JournalContents<T> {
  const records: T[] = [];
  let offset = 0;
  const stop = (problem: JournalContents<T>["problem"]): JournalContents<T> => ({
    records,
    skippedBytes: bytes.length - offset,
    ...(problem ? { problem } : {}),
  });
  while (offset < bytes.length) {
    if (bytes.length - offset < HEADER) return stop("torn");
    const length = bytes.readUInt32LE(offset);
    if (length > MAX_RECORD) return stop("length");
    if (bytes.length - offset - HEADER < length) return stop("torn");
    const payload = bytes.subarray(offset + HEADER, offset + HEADER + length);
    if (crc32(payload) !== bytes.readUInt32LE(offset + 4)) return stop("checksum");
    try {
      records.push(JSON.parse(payload.toString("utf8")) as T);
    } catch {
      return stop("json");
    }
    offset += HEADER + length;
  }
  return stop(undefined);
}

/**
 * An append-only file of checksummed, length-prefixed JSON records. Every append is one
 * write followed by fsync, so a record the caller was told is saved survives a crash or a
 * power cut; a crash mid-write leaves at most a torn tail, which `read` skips.
 */
export class JournalFile<T> {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  /** Appends the records durably; throws when the disk refuses (full, read-only, gone). */
  append(records: T[]): void {
    if (records.length === 0) return;
    const bytes = Buffer.concat(records.map(encodeRecord));
    const fd = this.open();
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  }

  /** Everything intact in the file (none when it does not exist). */
  read(): JournalContents<T> {
    if (!existsSync(this.path)) return { records: [], skippedBytes: 0 };
    return decodeRecords<T>(readFileSync(this.path));
  }

  /** Empties the file (every record in it is in the store now). */
  clear(): void {
    if (this.fd === undefined) {
      if (existsSync(this.path)) rmSync(this.path);
      return;
    }
    ftruncateSync(this.fd, 0);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): number {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      const created = !existsSync(this.path);
      this.fd = openSync(this.path, "a", 0o600);
      // A new file's directory entry must be durable too, or a power cut can lose the file.
      if (created) fsyncDir(dirname(this.path));
    }
    return this.fd;
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the data itself is synced.
  }
}
