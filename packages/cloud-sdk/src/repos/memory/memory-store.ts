import { MemoryJobRepository } from "../../jobs/repos/memory-job-repository.js";
import type { Store } from "../types.js";
import { MemoryCommandRepository } from "./memory-command-repository.js";
import { MemoryDeviceRepository } from "./memory-device-repository.js";
import { MemoryEventRepository } from "./memory-event-repository.js";
import { MemoryGroupRepository } from "./memory-group-repository.js";
import { MemoryStateRepository } from "./memory-state-repository.js";
import { MemoryStatusRepository } from "./memory-status-repository.js";
import { MemoryTables } from "./memory-tables.js";
import { MemoryTokenRepository } from "./memory-token-repository.js";

/** A store that keeps everything in process memory: for tests, demos and `CLOUDEDGE_DB=memory:`. */
export function createMemoryStore(): Store {
  const tables = new MemoryTables();
  return {
    dialect: "memory",
    devices: new MemoryDeviceRepository(tables),
    groups: new MemoryGroupRepository(tables),
    commands: new MemoryCommandRepository(tables),
    status: new MemoryStatusRepository(tables),
    state: new MemoryStateRepository(tables),
    events: new MemoryEventRepository(tables),
    tokens: new MemoryTokenRepository(tables),
    jobs: new MemoryJobRepository(tables),
    async ping() {
      tables.assertOpen();
    },
    async close() {
      tables.closed = true;
    },
  };
}
