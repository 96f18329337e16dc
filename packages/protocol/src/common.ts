import { type TSchema, type TUnsafe, Type } from "@sinclair/typebox";

/** Building blocks shared by PDU schemas (docs/protocol.md §3). */

export const DeviceId = Type.String({
  pattern: "^[1-9][0-9]{0,19}$",
  description: "Snowflake device id as a decimal string (64-bit; never a JSON number).",
});

export const CommandId = Type.String({
  pattern: "^[A-Za-z0-9_-]{1,64}$",
  description: "Command id chosen by the hub; opaque to the device.",
});

export const Method = Type.String({
  pattern: "^[A-Za-z][A-Za-z0-9_.:-]{0,127}$",
  description: "Command method, e.g. `system.reboot`.",
});

/** Milliseconds since the Unix epoch (UTC). */
export function EpochMs(description = "Milliseconds since the Unix epoch (UTC).") {
  return Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description });
}

/** A state-document version; 0 means 'nothing yet'. */
export function Version(description = "A state-document version; 0 means 'nothing yet'.", minimum = 0) {
  return Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER, description });
}

export const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const ErrorCodeString = Type.String({
  pattern: "^[a-z][a-z0-9_.]{0,63}$",
  description: "Stable machine-readable error code (snake_case). Unknown codes must be tolerated.",
});

/** A bounded, non-empty string. */
export function Text(maxLength: number, description?: string, minLength = 1) {
  return Type.String({ minLength, maxLength, ...(description ? { description } : {}) });
}

/** Any JSON object (not an array, not null); extra keys allowed. Typed as a string-keyed record. */
export function JsonObject(description: string): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>(
    Type.Object({}, { additionalProperties: true, description }) as TSchema,
  );
}

/** Any JSON value. */
export function JsonValue(description: string) {
  return Type.Unknown({ description });
}

export const Nic = Type.Object({
  type: Type.Optional(Text(32, "Interface kind, e.g. ethernet, wifi, lte.")),
  name: Type.Optional(Text(64, "OS interface name, e.g. eth0.")),
  mac: Type.Optional(Type.String({ pattern: "^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$" })),
  ipv4: Type.Optional(
    Type.String({ pattern: "^([0-9]{1,3}\\.){3}[0-9]{1,3}$", description: "Dotted-quad address." }),
  ),
});

export const Hardware = Type.Object(
  {
    serialNumber: Type.Optional(Text(128)),
    model: Type.Optional(Text(128)),
    nics: Type.Optional(Type.Array(Nic, { maxItems: 32 })),
  },
  { description: "Hardware identity as the device sees it." },
);

export const Software = Type.Object(
  {
    version: Type.Optional(Text(64)),
    lastUpdate: Type.Optional(EpochMs()),
  },
  { description: "Software identity as the device sees it." },
);

export const ErrorBody = Type.Object({
  code: ErrorCodeString,
  message: Text(4096, "Human-readable; never contains secrets.", 0),
  details: Type.Optional(JsonValue("Extra machine-readable detail.")),
});
