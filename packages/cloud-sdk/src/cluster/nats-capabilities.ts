import type { KV } from "nats";

/**
 * What the live instances of a cluster can do beyond the first version's node-to-node
 * messages, read once per instance from its liveness entry (`caps`), so that a rolling
 * upgrade can run two versions side by side: a feature is used only once every live
 * instance announced it.
 */
export class NodeCapabilities {
  /** Capabilities of the live instances, each read once from its liveness entry. */
  private readonly known = new Map<string, ReadonlySet<string>>();
  /** What every live instance announced, as of the last update (empty until they are all known). */
  private common: ReadonlySet<string> = new Set();

  constructor(
    private readonly instance: string,
    private readonly own: readonly string[],
  ) {}

  /** Whether every live instance announced `capability`: one lookup, for hot paths. */
  everyLiveNodeCan(capability: string): boolean {
    return this.common.has(capability);
  }

  /** Reads the capabilities of instances seen for the first time, forgets the gone ones, and recomputes the common set. */
  async update(nodes: KV, live: ReadonlySet<string>): Promise<void> {
    for (const inst of this.known.keys()) if (!live.has(inst)) this.known.delete(inst);
    const unknown = [...live].filter((inst) => inst !== this.instance && !this.known.has(inst));
    await Promise.all(
      unknown.map(async (inst) => {
        const entry = await nodes.get(inst).catch(() => null);
        if (entry?.operation !== "PUT") return; // asked again at the next heartbeat
        this.known.set(inst, parseCapabilities(entry.string()));
      }),
    );
    this.common = this.sharedBy(live);
  }

  /** The capabilities every instance of `live` announced (ours included). */
  private sharedBy(live: ReadonlySet<string>): ReadonlySet<string> {
    let shared = new Set(this.own);
    for (const inst of live) {
      if (inst === this.instance) continue;
      const theirs = this.known.get(inst);
      shared = new Set(theirs ? [...shared].filter((c) => theirs.has(c)) : []);
    }
    return live.size === 0 ? new Set() : shared;
  }
}

/** The `caps` of a liveness entry; none for an entry of the first version, or an unreadable one. */
function parseCapabilities(json: string): ReadonlySet<string> {
  let caps: unknown;
  try {
    caps = (JSON.parse(json) as { caps?: unknown }).caps;
  } catch {
    caps = undefined;
  }
  return new Set(Array.isArray(caps) ? caps.filter((c): c is string => typeof c === "string") : []);
}
