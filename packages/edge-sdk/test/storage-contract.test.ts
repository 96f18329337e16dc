import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
// The suite as implementers get it: from the built package, through its exports map.
import { edgeStorageContract } from "@cloudedge/edge-sdk/testing";
import { afterEach, beforeEach, describe, it } from "vitest";
import { FileStorage } from "../src/node/file-storage.js";
import { MemoryStorage } from "../src/storage.js";

const harness = { describe, it, beforeEach, afterEach };

edgeStorageContract(harness, "MemoryStorage", { open: () => new MemoryStorage() });

edgeStorageContract(harness, "FileStorage", {
  open: async () => new FileStorage(await mkdtemp(join(tmpdir(), "edge-storage-"))),
  reopen: (storage) => new FileStorage(storage.dir),
  close: (storage) => rm(storage.dir, { recursive: true, force: true }),
});
