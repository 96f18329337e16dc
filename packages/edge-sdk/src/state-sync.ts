import {
  applyMergePatch,
  createMergePatch,
  type DesiredPdu,
  isEmptyPatch,
  type JsonObject,
  type JsonValue,
  type ReportedPdu,
  type WelcomePdu,
} from "@cloudedge/protocol";

/** A desired-state change as handlers see it. */
export interface DesiredChange {
  /** Version after the change. */
  version: number;
  /** The merge patch (or the whole document when `full`). */
  patch: JsonObject;
  /** true: the document was replaced (handshake resync). */
  full: boolean;
  /** The whole desired document after the change. */
  document: JsonObject;
}

/** What to do with an incoming `desired` PDU. */
export type DesiredOutcome = { kind: "applied"; change: DesiredChange } | { kind: "stale" } | { kind: "gap" };

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The device's copy of the desired document (docs/protocol.md §6.3). Pure. */
export class DesiredState {
  version = 0;
  document: JsonObject = {};

  /** `welcome.desired` is authoritative: replace (or patch when not full), even to a lower version. */
  applyWelcome(desired: WelcomePdu["desired"]): DesiredChange | undefined {
    if (!desired) return undefined;
    const document = desired.full
      ? (applyMergePatch({}, desired.patch) as JsonObject)
      : (applyMergePatch(this.document, desired.patch) as JsonObject);
    return this.commit(desired.version, desired.patch as JsonObject, desired.full, document);
  }

  /** §6.3 rules: stale ignored, full replaces, next version patches, a gap asks for a resync. */
  apply(pdu: DesiredPdu): DesiredOutcome {
    if (pdu.version <= this.version) return { kind: "stale" };
    if (pdu.full) {
      return {
        kind: "applied",
        change: this.commit(
          pdu.version,
          pdu.patch as JsonObject,
          true,
          applyMergePatch({}, pdu.patch) as JsonObject,
        ),
      };
    }
    if (pdu.version !== this.version + 1) return { kind: "gap" };
    const document = applyMergePatch(this.document, pdu.patch) as JsonObject;
    return { kind: "applied", change: this.commit(pdu.version, pdu.patch as JsonObject, false, document) };
  }

  toJSON(): JsonValue {
    return { version: this.version, document: this.document };
  }

  load(json: JsonValue | undefined): void {
    const value = json as { version?: unknown; document?: unknown } | undefined;
    if (value && typeof value.version === "number" && isObject(value.document)) {
      this.version = value.version;
      this.document = value.document;
    }
  }

  private commit(version: number, patch: JsonObject, full: boolean, document: JsonObject): DesiredChange {
    this.version = version;
    this.document = document;
    return { version, patch, full, document };
  }
}

/** The device's reported document and version (docs/protocol.md §6.3). Pure. */
export class ReportedState {
  version = 0;
  document: JsonObject = {};

  /**
   * Merges `patch` into the document; returns the `reported` PDU carrying only what really
   * changed, or undefined when nothing did (empty patches are never sent).
   */
  change(patch: JsonObject, ts?: number): ReportedPdu | undefined {
    const next = applyMergePatch(this.document, patch) as JsonObject;
    const diff = createMergePatch(this.document, next) as JsonObject;
    if (isEmptyPatch(diff)) return undefined;
    this.document = next;
    this.version += 1;
    return { type: "reported", version: this.version, patch: diff, ...(ts !== undefined ? { ts } : {}) };
  }

  /**
   * After `welcome`: when the hub's version differs from ours, the whole document goes as
   * version hub+1 with `full` and that becomes our version. Undefined when in sync.
   */
  resync(hubVersion: number, ts?: number): ReportedPdu | undefined {
    if (hubVersion === this.version) return undefined;
    return this.full(hubVersion, ts);
  }

  /** The whole document as version `after + 1` (also the answer to `version_gap`). */
  full(after = this.version, ts?: number): ReportedPdu {
    this.version = after + 1;
    return {
      type: "reported",
      version: this.version,
      patch: this.document,
      full: true,
      ...(ts !== undefined ? { ts } : {}),
    };
  }

  toJSON(): JsonValue {
    return { version: this.version, document: this.document };
  }

  load(json: JsonValue | undefined): void {
    const value = json as { version?: unknown; document?: unknown } | undefined;
    if (value && typeof value.version === "number" && isObject(value.document)) {
      this.version = value.version;
      this.document = value.document;
    }
  }
}
