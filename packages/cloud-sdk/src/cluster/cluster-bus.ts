import type { CloudEvent, PresenceReason } from "../events.js";
import type { CommandRecord } from "../repos/types.js";

/** Something one node asks of the node that holds a device's session. */
export type BusRequest =
  /**
   * Send the device its QUEUED commands now. `command` is one just created: the holder may
   * send it without reading the queue when it knows the queue held nothing else, and
   * replies with the version it wrote when sending it. With `unsaved`, the creator has not
   * stored it: the holder stores it (already SENT, when it sends it at once) and says
   * `saved`; a holder that cannot leaves storing to the creator.
   */
  | { kind: "deliver"; command?: CommandRecord; unsaved?: boolean }
  /** Push a desired-state change to the device. */
  | { kind: "desired"; version: number; patch: Record<string, unknown>; full?: boolean }
  /** Close the device's session (unless it is `keepSessionId`, the one that just took over). */
  | { kind: "disconnect"; closeCode: number; reason: PresenceReason; keepSessionId?: string };

export type BusReply = {
  ok: boolean;
  /** For a `deliver` naming a command: that command as the holder wrote it on sending it. */
  command?: CommandRecord;
  /** For a `deliver` of an `unsaved` command: the holder stored it. */
  saved?: boolean;
};

/** The kinds of request: each is served by the one service it concerns. */
export type BusRequestKind = BusRequest["kind"];

/** The request of one kind. */
export type BusRequestOf<K extends BusRequestKind> = Extract<BusRequest, { kind: K }>;

/** Handles requests of one kind for devices this node holds. */
export type BusHandler<K extends BusRequestKind = BusRequestKind> = (
  deviceId: string,
  request: BusRequestOf<K>,
) => Promise<BusReply>;

/** The session a node holds for a device, as cluster presence records it. */
export interface HeldSession {
  sessionId: string;
  /** The session's connectedAt, as persisted with the device's presence. */
  connectedAt: number;
}

/** A session whose node died without releasing it, found by a cluster bus's presence reaper. */
export interface OrphanedSession extends HeldSession {
  deviceId: string;
  /** The node that held it. */
  nodeId: string;
}

/**
 * Where devices are, cluster-wide. Its own small interface rather than optional bus
 * methods, so that what a bus can tell is a flag (`shared`), not a method's absence.
 */
export interface ClusterPresence {
  /**
   * True when presence spans processes: other nodes may hold devices. `Cloud.start()` then
   * reconciles persisted presence per device instead of marking every device offline, and
   * recovery leaves devices held elsewhere alone.
   */
  readonly shared: boolean;
  /** The node id of the live node holding the device, if any (this one included). */
  locate(deviceId: string): Promise<string | undefined>;
  /**
   * Registers a handler called once, cluster-wide, for each session whose node died holding
   * it. Returns the function that removes it (a closed Cloud must not act on orphans).
   */
  onOrphaned(handler: (orphan: OrphanedSession) => Promise<void>): () => void;
}

/**
 * The seam between hubs (docs/architecture.md): presence and commands routed to wherever a
 * device is connected, events fanned out to every node. `LocalClusterBus` serves one
 * process; `NatsClusterBus` serves many. Requests have request/reply semantics with
 * "no responders" when no node holds the device.
 */
export interface ClusterBus {
  readonly nodeId: string;
  /** Sends an event to every node's subscribers; this node's get it synchronously, before it returns. */
  publish(event: CloudEvent): Promise<void>;
  /** Receives events from every node; returns the unsubscribe function. */
  subscribe(listener: (event: CloudEvent) => void): () => void;
  /**
   * Registers the handler of one kind of request addressed to devices this node holds
   * (the hub serves `disconnect`, the broker `deliver`, the state service `desired`).
   * Throws when that kind already has one: a second registration would silently replace it.
   * A request of a kind no one serves is answered `{ok: false}`. Returns the function that
   * stops serving it (a closed hub's successor may then register).
   */
  serve<K extends BusRequestKind>(kind: K, handler: BusHandler<K>): () => void;
  /** This node now holds the device's session: requests for it come here. */
  hold(deviceId: string, session?: HeldSession): Promise<void>;
  /** This node no longer holds the device's session. */
  release(deviceId: string): Promise<void>;
  /**
   * Asks the node holding the device; "no_responders" when none does. A `disconnect`
   * reaches every node that holds the device (each acts on it).
   */
  request(deviceId: string, request: BusRequest, timeoutMs?: number): Promise<BusReply | "no_responders">;
  /** Which node holds which device. */
  readonly presence: ClusterPresence;
  /** Leaves the cluster; requests and events stop. */
  close(): Promise<void>;
}
