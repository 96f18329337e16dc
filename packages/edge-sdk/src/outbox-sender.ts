import type { ClientStore } from "./client-store.js";
import type { Link } from "./link.js";
import type { Logger } from "./logger.js";
import type { Outbox, OutboxPdu } from "./outbox.js";
import { SOCKET_OPEN, type SocketLike } from "./transport.js";

/**
 * Sends status reports and results at once when it can, or keeps them in the persisted
 * outbox (§6.4) and flushes it oldest first, with the original timestamps, after `welcome`.
 */
export class OutboxSender {
  constructor(
    private readonly deps: {
      outbox: Outbox;
      link: Link;
      store: ClientStore;
      logger: Logger;
      onDropped: (info: { dropped: number; totalDropped: number }) => void;
    },
  ) {}

  /** True when `pdu` went out at once; false when it waits in the outbox. */
  sendOrQueue(pdu: OutboxPdu): boolean {
    const { outbox, link } = this.deps;
    // Keep order: while older entries wait, newer ones queue behind them.
    if (outbox.size === 0 && link.send(pdu)) return true;
    const dropped = outbox.push(pdu);
    if (dropped > 0) this.deps.onDropped({ dropped, totalDropped: outbox.dropped });
    this.deps.store.saveQuietly("outbox");
    if (link.online) this.flush(link.socket as SocketLike);
    return false;
  }

  /** Sends what waits, oldest first, while the socket stays open. */
  flush(socket: SocketLike): void {
    const { outbox, link, logger } = this.deps;
    if (outbox.size === 0) return;
    let sent = 0;
    for (let pdu = outbox.peek(); pdu; pdu = outbox.peek()) {
      if (socket.readyState !== SOCKET_OPEN) break;
      if (!link.rawSend(socket, pdu) && socket.readyState === SOCKET_OPEN) {
        logger.warn({ type: pdu.type }, "dropping an outbox entry that cannot be encoded");
      }
      outbox.shift();
      sent += 1;
    }
    logger.info({ sent, left: outbox.size }, "outbox flushed");
    this.deps.store.saveQuietly("outbox");
  }
}
