import {
  applyMergePatch,
  type DocumentLimits,
  documentViolationError,
  ErrorCode,
  findDocumentViolation,
  type HelloPdu,
  type JsonObject,
  jsonEqual,
  type ReportedPdu,
  setOwn,
} from "@cloudedge/protocol";
import type { BusReply, BusRequestOf, ClusterBus } from "../cluster/cluster-bus.js";
import {
  assertDocumentLimits,
  CloudError,
  CloudErrorCode,
  NotFoundError,
  ValidationError,
} from "../errors.js";
import type { EventLogAppend } from "../event-log/event-log-writer.js";
import type { CloudEvent } from "../events.js";
import type { DeviceHub, DeviceHubEvents, HandshakeState } from "../hub/device-hub.js";
import type { Session } from "../hub/session.js";
import type { DeviceState, Store } from "../repos/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { KeyedQueue } from "../util/keyed-queue.js";
import { type Logger, silentLogger } from "../util/logger.js";

/** A device's twin as the API shows it. */
export interface StateView {
  desired: JsonObject;
  reported: JsonObject;
  /** What desired asks for that reported does not (yet) show. */
  delta: JsonObject;
  desiredVersion: number;
  reportedVersion: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The members of `desired` whose value differs from `reported`, recursively. */
export function stateDelta(desired: JsonObject, reported: JsonObject): JsonObject {
  const delta: JsonObject = {};
  for (const key of Object.keys(desired)) {
    const want = desired[key];
    const have = Object.hasOwn(reported, key) ? reported[key] : undefined;
    if (jsonEqual(want, have)) continue;
    if (isObject(want) && isObject(have)) {
      const inner = stateDelta(want as JsonObject, have as JsonObject);
      if (Object.keys(inner).length > 0) setOwn(delta, key, inner);
    } else if (want !== undefined) {
      // setOwn: a "__proto__" key is data here as in desired, never the prototype (#20.11).
      setOwn(delta, key, want);
    }
  }
  return delta;
}

/** The API view of a stored twin. */
function toView(
  state: Pick<DeviceState, "desired" | "reported" | "desiredVersion" | "reportedVersion">,
): StateView {
  return {
    desired: state.desired,
    reported: state.reported,
    delta: stateDelta(state.desired, state.reported),
    desiredVersion: state.desiredVersion,
    reportedVersion: state.reportedVersion,
  };
}

export interface StateServiceOptions {
  store: Store;
  hub: DeviceHub;
  bus: ClusterBus;
  clock?: Clock;
  logger?: Logger;
  /** Appends to the device's event log. */
  log?: EventLogAppend;
  /**
   * Largest desired/reported document, as JSON bytes. Default 64 KiB; never above the
   * hub's document limit (what fits one frame).
   */
  maxDocumentBytes?: number;
}

/**
 * Desired/reported state with monotonic versions and JSON Merge Patch updates
 * (docs/protocol.md §6.3). Desired changes are pushed to the device wherever it is
 * connected; reported patches are applied in version order, stale or gapped ones refused.
 */
export class StateService {
  private readonly clock: Clock;
  private readonly perDevice = new KeyedQueue();
  /** The hub's document limits with the (smaller) byte bound of a stored state document. */
  private readonly limits: DocumentLimits;
  /** Undoes each hookup into the hub (see `close`). */
  private readonly unhook: Array<() => void>;

  constructor(private readonly options: StateServiceOptions) {
    this.clock = options.clock ?? systemClock;
    const { hub } = options;
    const maxBytes = Math.min(options.maxDocumentBytes ?? 64 * 1024, hub.documentLimits.maxBytes);
    this.limits = Object.freeze({ ...hub.documentLimits, maxBytes });
    const onPdu: DeviceHubEvents["pdu"] = (session, pdu) => {
      if (pdu.type === "reported") void this.onReported(session, pdu);
    };
    const onOnline: DeviceHubEvents["online"] = (session) => void this.catchUp(session);
    hub.on("pdu", onPdu);
    hub.on("online", onOnline);
    this.unhook = [
      hub.onHandshake((deviceId, hello) => this.handshake(deviceId, hello)),
      hub.serve("desired", async (session, request) => this.push(session, request)),
      () => hub.off("pdu", onPdu),
      () => hub.off("online", onOnline),
    ];
  }

  /**
   * Unhooks from the hub, which may live on: no more welcome state, desired pushes,
   * reported state or catch-up for this node's sessions.
   */
  close(): void {
    for (const undo of this.unhook.splice(0)) undo();
  }

  async get(deviceId: string): Promise<StateView> {
    await this.requireDevice(deviceId);
    return toView(await this.options.store.state.get(deviceId));
  }

  /**
   * Applies a merge patch to the desired document. With `ifMatch`, fails with
   * version_mismatch (412) unless the current version is that one.
   */
  async patchDesired(deviceId: string, patch: unknown, ifMatch?: number): Promise<StateView> {
    if (!isObject(patch))
      throw new ValidationError("the desired patch must be a JSON object", [
        { path: "", message: "must be object" },
      ]);
    // Before any recursive walk (merge, delta, serialising): a patch nested 20,000 deep is a 400.
    assertDocumentLimits(patch, this.limits, "", "the desired patch");
    await this.requireDevice(deviceId);
    const result = await this.perDevice.run(deviceId, async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const state = await this.options.store.state.get(deviceId);
        if (ifMatch !== undefined && state.desiredVersion !== ifMatch) {
          throw new CloudError(
            CloudErrorCode.VERSION_MISMATCH,
            "the desired state changed meanwhile",
            412,
            true,
            {
              currentVersion: state.desiredVersion,
            },
          );
        }
        const desired = applyMergePatch(state.desired, patch) as JsonObject;
        // Patches each within the limits can still build a document beyond them.
        assertDocumentLimits(desired, this.limits, "/desired", "the desired document after this patch");
        const version = state.desiredVersion + 1;
        const now = this.clock.now();
        if (
          !(await this.options.store.state.setDesired(deviceId, desired, version, state.desiredVersion, now))
        ) {
          continue; // another node wrote first (CAS lost): read again and retry
        }
        this.publish({
          type: "state",
          deviceId,
          at: now,
          side: "desired",
          version,
          patch: patch as Record<string, unknown>,
        });
        // Pushed inside the per-device queue so this node's pushes leave in version order.
        // Offline devices resync at the handshake.
        await this.options.bus
          .request(deviceId, { kind: "desired", version, patch: patch as Record<string, unknown> })
          .catch(() => "no_responders" as const);
        return { ...state, desired, desiredVersion: version };
      }
      throw new CloudError(CloudErrorCode.CONFLICT, "the desired state is changing too fast", 409);
    });
    return toView(result);
  }

  /** What `welcome` carries: the whole desired document when the device is not at our version. */
  private async handshake(deviceId: string, hello: HelloPdu): Promise<HandshakeState> {
    const state = await this.options.store.state.get(deviceId);
    const base = { reportedVersion: state.reportedVersion, desiredVersion: state.desiredVersion };
    if (hello.desiredVersion === state.desiredVersion) return base;
    const unsendable = findDocumentViolation(state.desired, this.limits);
    if (unsendable) {
      // Stored before the limits were enforced: a welcome without it beats no welcome at all.
      (this.options.logger ?? silentLogger).error(
        { deviceId, limit: unsendable.limit, path: unsendable.path },
        "stored desired state breaks the document limits; not sent — patch it back within them",
      );
      return base;
    }
    return { ...base, desired: { version: state.desiredVersion, patch: state.desired, full: true } };
  }

  /** A desired change asked through the bus of the node holding the device's session. */
  private push(session: Session, request: BusRequestOf<"desired">): BusReply {
    session.desiredVersion = Math.max(session.desiredVersion, request.version);
    return {
      ok: session.send({
        type: "desired",
        version: request.version,
        patch: request.patch,
        ...(request.full ? { full: true } : {}),
      }),
    };
  }

  /** A desired change that landed between the handshake's read and the session going online. */
  private catchUp(session: Session): Promise<void> {
    return this.perDevice
      .run(session.deviceId, async () => {
        const state = await this.options.store.state.get(session.deviceId);
        if (state.desiredVersion > session.desiredVersion && !session.closed) {
          session.desiredVersion = state.desiredVersion;
          this.options.hub.send(session.deviceId, {
            type: "desired",
            version: state.desiredVersion,
            patch: state.desired,
            full: true,
          });
        }
      })
      .catch(() => {});
  }

  private onReported(session: Session, pdu: ReportedPdu): Promise<void> {
    return this.perDevice
      .run(session.deviceId, async () => {
        const state = await this.options.store.state.get(session.deviceId);
        if (pdu.version <= state.reportedVersion) {
          this.refuse(
            session,
            ErrorCode.STALE_VERSION,
            `reported version must be above ${state.reportedVersion}`,
          );
          return;
        }
        if (pdu.version > state.reportedVersion + 1 && !pdu.full) {
          this.refuse(
            session,
            ErrorCode.VERSION_GAP,
            `expected version ${state.reportedVersion + 1} or a full document`,
          );
          return;
        }
        const reported = (
          pdu.full ? applyMergePatch({}, pdu.patch) : applyMergePatch(state.reported, pdu.patch)
        ) as JsonObject;
        const violation = findDocumentViolation(reported, this.limits);
        if (violation) {
          // The patch kept the limits (decode checked it); the document it builds does not.
          const error = documentViolationError(
            violation,
            "the reported document would break the document limits",
          );
          this.options.hub.send(session.deviceId, error.toPdu());
          return;
        }
        const now = this.clock.now();
        const ok = await this.options.store.state.setReported(
          session.deviceId,
          reported,
          pdu.version,
          state.reportedVersion,
          now,
        );
        if (!ok) {
          this.refuse(session, ErrorCode.STALE_VERSION, "reported state changed meanwhile");
          return;
        }
        this.publish({
          type: "state",
          deviceId: session.deviceId,
          at: now,
          side: "reported",
          version: pdu.version,
          patch: pdu.patch,
        });
      })
      .catch((error: unknown) => {
        (this.options.logger ?? silentLogger).warn(
          { deviceId: session.deviceId, err: String(error) },
          "reported update failed",
        );
      });
  }

  private refuse(session: Session, code: ErrorCode, message: string): void {
    this.options.hub.send(session.deviceId, { type: "error", code, message });
  }

  private publish(event: CloudEvent & { type: "state" }): void {
    this.options.log?.(event.deviceId, "state", event.side, { version: event.version }, event.at);
    void this.options.bus.publish(event).catch(() => {});
  }

  private async requireDevice(deviceId: string): Promise<void> {
    if (!(await this.options.store.devices.get(deviceId))) {
      throw new NotFoundError(CloudErrorCode.DEVICE_NOT_FOUND, "no such device");
    }
  }
}
