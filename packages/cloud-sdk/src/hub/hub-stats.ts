/** Counters for metrics and benchmarks. */
export interface HubStats {
  sessions: number;
  pendingHandshakes: number;
  handshakes: { ok: number; viaToken: number; viaSecret: number; failed: Record<string, number> };
  tryLater: number;
  /** Of `tryLater`: refused because their address already had its share of pending handshakes. */
  tryLaterPerAddress: number;
  heartbeatTimeouts: number;
  protocolErrors: number;
  backpressureCloses: number;
}

/** Counters at zero. */
export function newHubStats(): HubStats {
  return {
    sessions: 0,
    pendingHandshakes: 0,
    handshakes: { ok: 0, viaToken: 0, viaSecret: 0, failed: {} },
    tryLater: 0,
    tryLaterPerAddress: 0,
    heartbeatTimeouts: 0,
    protocolErrors: 0,
    backpressureCloses: 0,
  };
}
