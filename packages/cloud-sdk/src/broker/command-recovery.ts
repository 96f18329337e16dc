import type { CommandRecord, CommandRepository } from "../repos/types.js";
import type { Clock } from "../util/clock.js";
import type { BrokerLink } from "./broker-link.js";
import { endOverdue, overdue } from "./command-deadlines.js";
import type { CommandLedger } from "./command-ledger.js";

/** What `recoverCommands` did. */
export interface RecoveryCounts {
  requeued: number;
  timedOut: number;
  expired: number;
}

/**
 * Restart recovery: commands left SENT/DELIVERED by a previous run are re-queued (the
 * device dedupes the redelivery) unless their deadline passed (TIMED_OUT); QUEUED ones
 * past their TTL become EXPIRED; the rest are tracked for their deadlines. Nothing stays stuck.
 */
export async function recoverCommands(
  commands: CommandRepository,
  ledger: CommandLedger,
  link: BrokerLink,
  clock: Clock,
  track: (command: CommandRecord) => void,
): Promise<RecoveryCounts> {
  const counts = { requeued: 0, timedOut: 0, expired: 0 };
  const now = clock.now();
  const held = link.heldElsewhere();
  const requeued = new Set<string>();
  for (const command of await commands.listNonTerminal()) {
    const due = overdue(command, now);
    if (due) {
      if (await endOverdue(ledger, command, due)) counts[due === "timeout" ? "timedOut" : "expired"]++;
    } else if (command.status !== "QUEUED") {
      // In a cluster, a device held by a live node is in that node's hands (its session
      // requeues what it loses, a new session takes over what an old one left).
      if (await held(command.deviceId)) continue;
      if (await ledger.move(command, "requeue")) {
        counts.requeued++;
        requeued.add(command.deviceId);
      }
    } else {
      track(command);
    }
  }
  // Should a node hold one of these devices after all (presence lagging), it lists again.
  for (const deviceId of requeued) link.nudge(deviceId);
  return counts;
}
