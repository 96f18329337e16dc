import {
  MAX_COMMAND_TIMEOUT_MS,
  MAX_COMMAND_TTL_MS,
  MAX_TOKEN_LIFETIME_MS,
  MIN_TOKEN_LIFETIME_MS,
} from "@cloudedge/cloud-sdk";
import { COMMAND_STATUSES } from "@cloudedge/protocol";
import { type TSchema, Type } from "@sinclair/typebox";

/**
 * REST v1 resource and request schemas: the single source of request validation and of
 * the OpenAPI 3.1 document (docs/openapi.json). Request bodies refuse unknown fields.
 */

export const Id = Type.String({
  pattern: "^[1-9][0-9]{0,19}$",
  description: "Snowflake id as a decimal string.",
});
/** Up to 8.64e15, the largest time a JavaScript Date holds (`1e300` is refused, #21.11). */
export const EpochMs = Type.Integer({
  minimum: 0,
  maximum: 8_640_000_000_000_000,
  description: "Milliseconds since the Unix epoch.",
});
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Text = (max: number, min = 0) => Type.String({ minLength: min, maxLength: max });

export const Labels = Type.Record(Type.String({ pattern: "^[A-Za-z0-9_.:/-]{1,63}$" }), Text(255), {
  description: "Key/value labels.",
  maxProperties: 64,
});
export const Nic = Type.Object(
  {
    type: Type.Optional(Text(32)),
    name: Type.Optional(Text(64)),
    mac: Type.Optional(Type.String({ pattern: "^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$" })),
    ipv4: Type.Optional(Type.String({ pattern: "^([0-9]{1,3}\\.){3}[0-9]{1,3}$" })),
  },
  { additionalProperties: false },
);
export const Hardware = Type.Object(
  {
    serialNumber: Type.Optional(Text(255, 1)),
    model: Type.Optional(Text(255, 1)),
    nics: Type.Optional(Type.Array(Nic, { maxItems: 32 })),
  },
  { additionalProperties: false },
);
export const Software = Type.Object(
  { version: Type.Optional(Text(64)), lastUpdate: Type.Optional(EpochMs) },
  { additionalProperties: false },
);

export const Status = Type.Object(
  { deviceId: Id, ts: EpochMs, receivedAt: EpochMs },
  {
    additionalProperties: true,
    description: "A status snapshot: cpu, memory, disks, uptimeS and collector extras.",
  },
);

export const Device = Type.Object({
  id: Id,
  name: Type.String(),
  type: Type.String(),
  description: Type.String(),
  labels: Labels,
  groupIds: Type.Array(Id),
  disabled: Type.Boolean(),
  online: Type.Boolean(),
  connectedAt: Nullable(EpochMs),
  lastSeenAt: Nullable(EpochMs),
  createdAt: EpochMs,
  updatedAt: EpochMs,
  hardware: Type.Object(
    {
      serialNumber: Type.Optional(Type.String()),
      model: Type.Optional(Type.String()),
      nics: Type.Array(Nic),
    },
    {
      description:
        "serialNumber and model are server-owned: set at registration or by PATCH, never from the device's hello; nics are refreshed from it.",
    },
  ),
  software: Type.Object({ version: Type.Optional(Type.String()), lastUpdate: Type.Optional(EpochMs) }),
  status: Type.Optional(Nullable(Status)),
});

export const RegisteredDevice = Type.Intersect([
  Device,
  Type.Object({ secret: Type.String({ description: "Shown once." }) }),
]);

export const NewDevice = Type.Object(
  {
    name: Text(255, 1),
    type: Type.Optional(Text(64)),
    description: Type.Optional(Text(2048)),
    labels: Type.Optional(Labels),
    hardware: Type.Optional(Hardware),
    software: Type.Optional(Software),
    secret: Type.Optional(
      Type.String({ minLength: 16, maxLength: 256, description: "Factory-provisioned secret (≥16)." }),
    ),
  },
  { additionalProperties: false },
);

export const DevicePatch = Type.Object(
  {
    name: Type.Optional(Text(255, 1)),
    type: Type.Optional(Text(64)),
    description: Type.Optional(Text(2048)),
    labels: Type.Optional(Labels),
    hardware: Type.Optional(Hardware),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const CommandStatus = Type.Union(COMMAND_STATUSES.map((s) => Type.Literal(s)));

export const Command = Type.Object({
  id: Id,
  deviceId: Id,
  method: Type.String(),
  params: Type.Unknown(),
  status: CommandStatus,
  result: Type.Unknown(),
  error: Nullable(
    Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
  ),
  timeoutMs: Type.Integer(),
  expiresAt: Nullable(EpochMs),
  deadline: Nullable(EpochMs),
  attempts: Type.Integer(),
  acknowledgedAt: Nullable(EpochMs),
  groupId: Nullable(Id),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});

export const NewCommand = Type.Object(
  {
    method: Type.String({ pattern: "^[A-Za-z][A-Za-z0-9_.:-]{0,127}$" }),
    params: Type.Optional(Type.Unknown()),
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_COMMAND_TIMEOUT_MS,
        default: 30_000,
        description: "At most one day.",
      }),
    ),
    ttlMs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_COMMAND_TTL_MS, description: "At most 30 days." }),
    ),
    wait: Type.Optional(
      Type.Boolean({ description: "Wait for the outcome: 200 with the result, or 504 with the command id." }),
    ),
  },
  { additionalProperties: false },
);

export const FanOut = Type.Object({
  items: Type.Array(
    Type.Object({
      deviceId: Id,
      commandId: Type.Optional(Id),
      status: Type.Optional(CommandStatus),
      error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    }),
  ),
});

export const State = Type.Object({
  desired: Type.Record(Type.String(), Type.Unknown()),
  reported: Type.Record(Type.String(), Type.Unknown()),
  delta: Type.Record(Type.String(), Type.Unknown()),
  desiredVersion: Type.Integer(),
  reportedVersion: Type.Integer(),
});

export const MergePatch = Type.Record(Type.String(), Type.Unknown(), {
  description: "RFC 7396 JSON Merge Patch.",
});

export const Group = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});
export const NewGroup = Type.Object(
  { name: Text(255, 1), description: Type.Optional(Text(2048)) },
  { additionalProperties: false },
);
export const GroupPatch = Type.Object(
  { name: Type.Optional(Text(255, 1)), description: Type.Optional(Text(2048)) },
  { additionalProperties: false, minProperties: 1 },
);

export const DeviceEvent = Type.Object({
  id: Id,
  deviceId: Id,
  ts: EpochMs,
  kind: Type.String(),
  reason: Nullable(Type.String()),
  data: Nullable(Type.Record(Type.String(), Type.Unknown())),
});

export const Scope = Type.Union([Type.Literal("read"), Type.Literal("write"), Type.Literal("admin")]);
export const ApiToken = Type.Object({
  id: Id,
  name: Type.String(),
  scopes: Type.Array(Scope),
  createdAt: EpochMs,
  expiresAt: Nullable(EpochMs),
  lastUsedAt: Nullable(EpochMs),
});
export const NewApiToken = Type.Object(
  {
    name: Text(255, 1),
    scopes: Type.Array(Scope, { minItems: 1, uniqueItems: true }),
    expiresInMs: Type.Optional(
      Type.Integer({
        minimum: MIN_TOKEN_LIFETIME_MS,
        maximum: MAX_TOKEN_LIFETIME_MS,
        description: "One minute to ten years; absent: never expires.",
      }),
    ),
  },
  { additionalProperties: false },
);
export const CreatedApiToken = Type.Intersect([
  ApiToken,
  Type.Object({ token: Type.String({ description: "Shown once." }) }),
]);

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Optional(Type.String({ description: "Pass as `cursor`." })),
  });

export const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
};

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: "Stable machine-readable code." }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true },
);

/**
 * The original system's `device_add` body, checked with the v1 building blocks (#21.11:
 * `nic: [null]` was a 500, objects were stored as "[object Object]", `last_update: 1e300`
 * was kept). Unknown top-level fields are ignored, as the original did; nested objects are
 * as strict as v1's.
 */
export const LegacyDeviceAdd = Type.Object(
  {
    password: Type.String({ minLength: 16, maxLength: 256, description: "The device secret (≥16)." }),
    device_name: Text(255, 1),
    device_type: Type.Optional(Text(64)),
    dev_description: Type.Optional(Text(2048)),
    hardware: Type.Optional(
      Type.Object(
        { sn: Type.Optional(Text(255)), model: Type.Optional(Text(255)) },
        { additionalProperties: false },
      ),
    ),
    software: Type.Optional(
      Type.Object(
        { version: Type.Optional(Text(64)), last_update: Type.Optional(EpochMs) },
        { additionalProperties: false },
      ),
    ),
    nic: Type.Optional(Type.Array(Nic, { maxItems: 32 })),
  },
  { additionalProperties: true },
);

/** The original system's `give_order` body. */
export const LegacyGiveOrder = Type.Object(
  {
    device_id: Type.Union([Id, Type.Integer({ minimum: 1 })]),
    order: Text(128, 1),
    params: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: true },
);
