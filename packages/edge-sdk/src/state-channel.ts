import type { DesiredPdu, JsonObject, WelcomePdu } from "@cloudedge/protocol";
import type { ClientStore } from "./client-store.js";
import type { Clock } from "./clock.js";
import type { DesiredDispatch } from "./desired-dispatch.js";
import type { Link } from "./link.js";
import type { Logger } from "./logger.js";
import type { DesiredState, ReportedState } from "./state-sync.js";
import type { SocketLike } from "./transport.js";

/**
 * The device side of state sync (§6.3) on the wire: applies `desired` PDUs and the handshake's
 * desired document, sends reported changes, and resyncs either side when versions disagree —
 * a missed desired change is never patched over, the link is dropped and the handshake resyncs.
 */
export class StateChannel {
  constructor(
    private readonly deps: {
      desired: DesiredState;
      reported: ReportedState;
      dispatch: DesiredDispatch;
      store: ClientStore;
      link: Link;
      clock: Clock;
      logger: Logger;
      storageFailed: (error: unknown) => void;
    },
  ) {}

  /** Merges `patch` into the reported state; sends what changed when online; resolves once saved. */
  async report(patch: JsonObject): Promise<void> {
    const pdu = this.deps.reported.change(patch, this.deps.clock.now());
    if (!pdu) return;
    const saved = this.saveReported();
    if (this.deps.link.online) this.deps.link.send(pdu);
    await saved;
  }

  /** The handshake's part: welcome.desired is authoritative; reported is resent when versions differ. */
  welcome(socket: SocketLike, welcome: WelcomePdu, now: number): void {
    // §6.3: welcome.desired is authoritative, even when it goes back in version.
    const change = this.deps.desired.applyWelcome(welcome.desired);
    if (change) this.deps.dispatch.queue(change);
    // §6.3: resync the reported document when the hub's version differs from ours.
    const full = this.deps.reported.resync(welcome.reportedVersion, now);
    if (full) {
      void this.saveReported();
      this.deps.link.rawSend(socket, full);
    }
  }

  /** A `desired` PDU during the session. */
  desired(socket: SocketLike, pdu: DesiredPdu): void {
    const outcome = this.deps.desired.apply(pdu);
    if (outcome.kind === "applied") this.deps.dispatch.queue(outcome.change);
    else if (outcome.kind === "gap") {
      // §6.3: a missed change is never patched over; reconnect and let the handshake resync.
      this.deps.logger.warn(
        { version: pdu.version, applied: this.deps.desired.version },
        "desired version gap: resync",
      );
      this.deps.link.drop(socket, 1000, "resync");
    }
  }

  /** §6.3: the hub missed a reported change (`version_gap`); send the whole document. */
  resendReported(socket: SocketLike): void {
    const full = this.deps.reported.full(this.deps.reported.version, this.deps.clock.now());
    void this.saveReported();
    this.deps.link.rawSend(socket, full);
  }

  private saveReported(): Promise<void> {
    return this.deps.store.save("reported").catch((e) => this.deps.storageFailed(e));
  }
}
