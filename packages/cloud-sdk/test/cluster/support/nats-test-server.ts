import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "nats";
import type { BusHandler, BusRequestKind, ClusterBus } from "../../../src/index.js";
import { NatsClusterBus, type NatsClusterBusOptions } from "../../../src/nats.js";

/** The test NATS (with JetStream); CI may point elsewhere. Tests FAIL (never skip) when it is unreachable. */
export const NATS_TEST_URL = process.env.CLOUDEDGE_TEST_NATS_URL ?? "nats://127.0.0.1:4222";

/** Fast liveness for tests: a dead node is reaped about a second after it dies. */
export const FAST_PRESENCE = { heartbeatMs: 200, nodeTtlMs: 1_000 } as const;

/**
 * A scratch cluster namespace: a unique subject/bucket prefix, so test runs never see each
 * other's nodes, and `drop()` deletes its KV buckets.
 */
export class NatsTestCluster {
  readonly buses: NatsClusterBus[] = [];

  private constructor(
    readonly prefix: string,
    private readonly admin: NatsConnection,
  ) {}

  static async create(): Promise<NatsTestCluster> {
    let admin: NatsConnection;
    try {
      admin = await connect({ servers: NATS_TEST_URL, timeout: 3_000, maxReconnectAttempts: 0 });
    } catch (err) {
      throw new Error(`cannot reach the NATS test server at ${NATS_TEST_URL} (set CLOUDEDGE_TEST_NATS_URL)`, {
        cause: err,
      });
    }
    return new NatsTestCluster(`cetest_${process.pid}_${randomBytes(4).toString("hex")}`, admin);
  }

  /** A bus of this cluster; closed by `drop()` unless closed before. */
  async bus(nodeId: string, options: Partial<NatsClusterBusOptions> = {}): Promise<NatsClusterBus> {
    const bus = await NatsClusterBus.connect({
      servers: NATS_TEST_URL,
      prefix: this.prefix,
      nodeId,
      ...FAST_PRESENCE,
      ...options,
    });
    this.buses.push(bus);
    return bus;
  }

  /** A raw connection, e.g. to hand a bus and then cut without a goodbye (a crash). */
  connection(): Promise<NatsConnection> {
    return connect({ servers: NATS_TEST_URL, maxReconnectAttempts: 0 });
  }

  async drop(): Promise<void> {
    await Promise.allSettled(this.buses.map((bus) => bus.close()));
    try {
      const jsm = await this.admin.jetstreamManager();
      for (const bucket of ["presence", "nodes", "job_leases"]) {
        await jsm.streams.delete(`KV_${this.prefix}_${bucket}`).catch(() => undefined);
      }
    } finally {
      await this.admin.close();
    }
  }
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every kind of bus request, for tests that serve them all with one handler. */
const KINDS: readonly BusRequestKind[] = ["deliver", "desired", "disconnect"];

/** Serves every kind of request on `bus` with one handler (a test's recorder). */
export function serveEveryKind(bus: ClusterBus, handler: BusHandler): void {
  for (const kind of KINDS) bus.serve(kind, handler);
}
