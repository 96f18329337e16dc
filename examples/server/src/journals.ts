import { readdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Logger, type Store, WriteJournal } from "@cloudedge/cloud-sdk";

const NAME = /^journal-(.+)-w(\d+)\.log$/;

/** The journal of one node: host and worker slot (not the pid), so a restart finds its predecessor's. */
export function journalPath(dataDir: string, workerId: number): string {
  return join(dataDir, `journal-${hostname()}-w${workerId}.log`);
}

/**
 * Replays this host's journals that no worker of this run will (the worker count changed:
 * `--workers 4` → 2 leaves w3 and w4; a single-process run left w0). The cluster primary
 * calls it before starting workers; a single process replays only its own journal, as
 * another process with its own `CLOUDEDGE_WORKER_ID` may be using the same data dir.
 */
export async function replayOtherJournals(
  store: Store,
  dataDir: string,
  ownedByNodes: number[],
  logger: Logger,
): Promise<void> {
  let files: string[];
  try {
    files = readdirSync(dataDir);
  } catch {
    return; // no data dir yet: nothing journaled
  }
  for (const file of files) {
    const match = NAME.exec(file);
    if (!match || match[1] !== hostname() || ownedByNodes.includes(Number(match[2]))) continue;
    await new WriteJournal(join(dataDir, file), logger).replay(store);
  }
}
