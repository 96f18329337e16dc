import { type Static, Type } from "@sinclair/typebox";
import {
  CommandId,
  DeviceId,
  EpochMs,
  ErrorBody,
  ErrorCodeString,
  Hardware,
  JsonObject,
  JsonValue,
  Method,
  Seq,
  Software,
  Text,
  Version,
} from "./common.js";
import { MAX_ISSUES } from "./errors.js";

/**
 * Every v1 PDU, one schema each: the single source of its TypeScript type (Static<>),
 * its runtime validator (codec.ts) and its published JSON Schema (docs/schemas/<type>.json).
 * Objects tolerate unknown extra fields (forward compatibility, docs/protocol.md §5).
 * Constraints across fields that JSON Schema states with `allOf`/`anyOf` are also in
 * REFINEMENTS below, which the validator enforces and the JSON Schema carries.
 */

export const HelloPdu = Type.Object(
  {
    type: Type.Literal("hello"),
    versions: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), {
      minItems: 1,
      maxItems: 16,
      description: "Protocol versions the device speaks; the hub picks the highest it shares.",
    }),
    deviceId: Type.Optional(DeviceId),
    serialNumber: Type.Optional(Text(128, "Identity by (serialNumber, model) when deviceId is absent.")),
    model: Type.Optional(Text(128)),
    secret: Type.Optional(Text(256, "The device secret; used when no token is sent or the token fails.")),
    token: Type.Optional(Text(1024, "Resume token from the last `welcome`.")),
    agent: Type.Object({ name: Text(64), version: Text(64) }),
    bootId: Text(64, "Changes at every device boot; lets the hub tell restarts from reconnects."),
    desiredVersion: Version("Last desired-state version the device applied (0 if none)."),
    hardware: Type.Optional(Hardware),
    software: Type.Optional(Software),
  },
  {
    title: "hello",
    description: "Device → hub. First PDU of every session (within the hello deadline, default 10 s).",
    allOf: [
      { anyOf: [{ required: ["deviceId"] }, { required: ["serialNumber", "model"] }] },
      { anyOf: [{ required: ["secret"] }, { required: ["token"] }] },
    ],
  },
);

export const WelcomePdu = Type.Object(
  {
    type: Type.Literal("welcome"),
    version: Type.Integer({ minimum: 1, maximum: 65535, description: "The chosen protocol version." }),
    sessionId: Text(64),
    deviceId: DeviceId,
    heartbeatMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, description: "Send `ping` this often." }),
    token: Text(1024, "Fresh resume token; store it and send it in the next `hello`."),
    tokenExpiresAt: EpochMs(),
    serverTime: EpochMs(),
    maxFrameBytes: Type.Integer({ minimum: 1024, description: "Largest message the hub accepts." }),
    reportedVersion: Version(
      "The hub's current reported-state version; the next `reported` must be above it.",
    ),
    desired: Type.Optional(
      Type.Object(
        {
          version: Version(
            "The hub's desired-state version. 0: the hub has none; `patch` is then {} (not a `desired` PDU, whose minimum is 1).",
          ),
          patch: JsonObject("Merge patch (or the whole document when `full`)."),
          full: Type.Boolean({ description: "true: `patch` is the whole desired document; replace." }),
        },
        {
          description:
            "Present when the device's desiredVersion differs from the hub's; the hub sends the whole document (full: true).",
        },
      ),
    ),
  },
  { title: "welcome", description: "Hub → device. Handshake accepted." },
);

export const PingPdu = Type.Object(
  {
    type: Type.Literal("ping"),
    seq: Seq,
    ts: Type.Optional(EpochMs()),
  },
  { title: "ping", description: "Device → hub. Heartbeat, every `heartbeatMs`." },
);

export const PongPdu = Type.Object(
  {
    type: Type.Literal("pong"),
    seq: Seq,
    serverTime: EpochMs(),
  },
  { title: "pong", description: "Hub → device. Answers a `ping` with the same seq." },
);

const StatusData = Type.Object(
  {
    cpu: Type.Optional(
      Type.Object({
        usagePercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
        cores: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
        load: Type.Optional(Type.Array(Type.Number({ minimum: 0 }), { maxItems: 3 })),
      }),
    ),
    memory: Type.Optional(
      Type.Object({
        totalBytes: Type.Optional(Type.Number({ minimum: 0 })),
        usedBytes: Type.Optional(Type.Number({ minimum: 0 })),
      }),
    ),
    disks: Type.Optional(
      Type.Array(
        Type.Object({
          mount: Text(512),
          totalBytes: Type.Optional(Type.Number({ minimum: 0 })),
          usedBytes: Type.Optional(Type.Number({ minimum: 0 })),
        }),
        { maxItems: 256 },
      ),
    ),
    uptimeS: Type.Optional(Type.Number({ minimum: 0 })),
    errors: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }), {
        description: "Collector name → error, for collectors that failed in this snapshot.",
      }),
    ),
  },
  { description: "Metrics snapshot; collectors may add keys." },
);

export const StatusPdu = Type.Object(
  {
    type: Type.Literal("status"),
    ts: EpochMs("When the snapshot was taken (kept through the outbox)."),
    data: StatusData,
  },
  { title: "status", description: "Device → hub. A timestamped metrics snapshot." },
);

export const ReportedPdu = Type.Object(
  {
    type: Type.Literal("reported"),
    version: Version("Version of the document after this patch.", 1),
    patch: JsonObject(
      "RFC 7396 merge patch against the previous reported document (or the whole document when `full`).",
    ),
    full: Type.Optional(
      Type.Boolean({ description: "true: `patch` is the whole reported document; replace." }),
    ),
    ts: Type.Optional(EpochMs()),
  },
  { title: "reported", description: "Device → hub. What changed in the reported state." },
);

export const DesiredPdu = Type.Object(
  {
    type: Type.Literal("desired"),
    version: Version("Version of the document after this patch.", 1),
    patch: JsonObject("RFC 7396 merge patch (or the whole document when `full`)."),
    full: Type.Optional(Type.Boolean()),
  },
  { title: "desired", description: "Hub → device. A desired-state change with its version." },
);

export const CmdPdu = Type.Object(
  {
    type: Type.Literal("cmd"),
    id: CommandId,
    method: Method,
    params: Type.Optional(JsonValue("Method parameters; any JSON value, usually an object.")),
    deadline: EpochMs("Hub time after which the result is no longer wanted."),
    timeoutMs: Type.Integer({ minimum: 0, maximum: 86_400_000, description: "Time left at sending." }),
  },
  { title: "cmd", description: "Hub → device. Run a method; answer `ack` at once and `result` when done." },
);

export const AckPdu = Type.Object(
  {
    type: Type.Literal("ack"),
    id: CommandId,
  },
  { title: "ack", description: "Device → hub. The command arrived (DELIVERED)." },
);

export const ResultPdu = Type.Object(
  {
    type: Type.Literal("result"),
    id: CommandId,
    ok: Type.Boolean(),
    data: Type.Optional(JsonValue("The method's return value when ok.")),
    error: Type.Optional(ErrorBody),
    ts: Type.Optional(EpochMs()),
  },
  {
    title: "result",
    description: "Device → hub. The command finished; `ok` with `data`, or not `ok` with `error`.",
    anyOf: [
      { properties: { ok: { const: true } }, not: { required: ["error"] } },
      { properties: { ok: { const: false } }, required: ["error"] },
    ],
  },
);

export const ErrorPdu = Type.Object(
  {
    type: Type.Literal("error"),
    code: ErrorCodeString,
    message: Text(4096, undefined, 0),
    ref: Type.Optional(Text(64, "The id of the PDU this error is about, when it had one.")),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
    issues: Type.Optional(
      Type.Array(Type.Object({ path: Text(1024, undefined, 0), message: Text(1024, undefined, 0) }), {
        maxItems: MAX_ISSUES,
      }),
    ),
  },
  { title: "error", description: "Either direction. Something the peer sent was rejected." },
);

export const ByePdu = Type.Object(
  {
    type: Type.Literal("bye"),
    reason: Text(64, "e.g. server_shutdown, client_shutdown."),
    retryAfterMs: Type.Optional(
      Type.Integer({ minimum: 0, description: "Wait this long (jittered) first." }),
    ),
    message: Type.Optional(Text(1024, undefined, 0)),
  },
  { title: "bye", description: "Either direction. The sender is about to close the session." },
);

export type HelloPdu = Static<typeof HelloPdu>;
export type WelcomePdu = Static<typeof WelcomePdu>;
export type PingPdu = Static<typeof PingPdu>;
export type PongPdu = Static<typeof PongPdu>;
/** A metrics snapshot: the known keys typed, collector extras allowed. */
export type StatusData = Static<typeof StatusData> & { [extra: string]: unknown };
export type StatusPdu = Omit<Static<typeof StatusPdu>, "data"> & { data: StatusData };
export type ReportedPdu = Static<typeof ReportedPdu>;
export type DesiredPdu = Static<typeof DesiredPdu>;
export type CmdPdu = Static<typeof CmdPdu>;
export type AckPdu = Static<typeof AckPdu>;
export type ResultPdu = Static<typeof ResultPdu>;
export type ErrorPdu = Static<typeof ErrorPdu>;
export type ByePdu = Static<typeof ByePdu>;

/** Which side sends a PDU. */
export type Sender = "device" | "hub";

/** The registry: type → schema and who may send it. */
export const PDU_SCHEMAS = {
  hello: { schema: HelloPdu, senders: ["device"] },
  welcome: { schema: WelcomePdu, senders: ["hub"] },
  ping: { schema: PingPdu, senders: ["device"] },
  pong: { schema: PongPdu, senders: ["hub"] },
  status: { schema: StatusPdu, senders: ["device"] },
  reported: { schema: ReportedPdu, senders: ["device"] },
  desired: { schema: DesiredPdu, senders: ["hub"] },
  cmd: { schema: CmdPdu, senders: ["hub"] },
  ack: { schema: AckPdu, senders: ["device"] },
  result: { schema: ResultPdu, senders: ["device"] },
  error: { schema: ErrorPdu, senders: ["device", "hub"] },
  bye: { schema: ByePdu, senders: ["device", "hub"] },
} as const satisfies Record<string, { schema: unknown; senders: readonly Sender[] }>;

export type PduType = keyof typeof PDU_SCHEMAS;
export const PDU_TYPES = Object.keys(PDU_SCHEMAS) as PduType[];

export type Pdu =
  | HelloPdu
  | WelcomePdu
  | PingPdu
  | PongPdu
  | StatusPdu
  | ReportedPdu
  | DesiredPdu
  | CmdPdu
  | AckPdu
  | ResultPdu
  | ErrorPdu
  | ByePdu;

/** The PDU type for a `type` string. */
export type PduOf<T extends PduType> = Extract<Pdu, { type: T }>;

/** PDUs a device sends / a hub sends. */
export type DevicePdu = Extract<
  Pdu,
  { type: "hello" | "ping" | "status" | "reported" | "ack" | "result" | "error" | "bye" }
>;
export type HubPdu = Extract<Pdu, { type: "welcome" | "pong" | "desired" | "cmd" | "error" | "bye" }>;

/**
 * Cross-field rules (the `allOf`/`anyOf` in the JSON Schemas above). Each returns the
 * issue text, or undefined when the PDU is fine.
 */
export const REFINEMENTS: Partial<{ [T in PduType]: (pdu: PduOf<T>) => string | undefined }> = {
  hello: (pdu) => {
    if (pdu.deviceId === undefined && (pdu.serialNumber === undefined || pdu.model === undefined)) {
      return "hello needs deviceId, or both serialNumber and model";
    }
    if (pdu.secret === undefined && pdu.token === undefined) return "hello needs a secret or a token";
    return undefined;
  },
  result: (pdu) => {
    if (pdu.ok && pdu.error !== undefined) return "an ok result must not carry error";
    if (!pdu.ok && pdu.error === undefined) return "a failed result must carry error";
    return undefined;
  },
};
