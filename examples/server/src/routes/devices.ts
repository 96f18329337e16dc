import type { StatusRecord } from "@cloudedge/cloud-sdk";
import { Type } from "@sinclair/typebox";
import type { AppDeps } from "../context.js";
import { pageOf, type Route } from "../http/route.js";
import * as S from "../http/schemas.js";

const IdParams = Type.Object({ id: S.Id });

/** The status resource: the collectors' data with the report's device id and times. */
const statusBody = (status: StatusRecord) => ({
  ...status.data,
  deviceId: status.deviceId,
  ts: status.ts,
  receivedAt: status.receivedAt,
});

/** Devices: register, list, read, update, delete, rotate secret, status, event log. */
export function deviceRoutes(deps: AppDeps): Route[] {
  const { cloud } = deps;
  return [
    {
      method: "post",
      path: "/api/v1/devices",
      operationId: "registerDevice",
      summary: "Register a device; the response carries its secret, shown this once.",
      tag: "devices",
      scope: "write",
      body: S.NewDevice,
      responses: {
        201: { description: "Registered.", schema: S.RegisteredDevice },
        409: { description: "The (serialNumber, model) pair is taken." },
      },
      handler: async (ctx, { body }) => {
        const { device, secret } = await cloud.devices.register(
          body as Parameters<typeof cloud.devices.register>[0],
        );
        ctx.status = 201;
        ctx.set("Location", `/api/v1/devices/${device.id}`);
        ctx.body = { ...device, secret };
      },
    },
    {
      method: "get",
      path: "/api/v1/devices",
      operationId: "listDevices",
      summary: "List devices, filtered by group, label, presence or text; cursor paging.",
      tag: "devices",
      scope: "read",
      query: Type.Object({
        group: Type.Optional(S.Id),
        label: Type.Optional(
          Type.String({
            pattern: "^[A-Za-z0-9_.:/-]{1,63}(=.{0,255})?$",
            description: "`key` or `key=value`.",
          }),
        ),
        online: Type.Optional(Type.Boolean()),
        q: Type.Optional(
          Type.String({ maxLength: 255, description: "Substring of name, description, serial or model." }),
        ),
        ...S.PageQuery,
      }),
      responses: { 200: { description: "A page of devices.", schema: S.Page(S.Device) } },
      handler: async (ctx, { query }) => {
        const label = query["label"] as string | undefined;
        const [key, ...value] = label?.split("=") ?? [];
        ctx.body = await cloud.devices.list({
          ...(query["group"] ? { groupId: query["group"] as string } : {}),
          ...(key ? { label: value.length > 0 ? { key, value: value.join("=") } : { key } } : {}),
          ...(query["online"] !== undefined ? { online: query["online"] as boolean } : {}),
          ...(query["q"] ? { text: query["q"] as string } : {}),
          ...pageOf(query),
        });
      },
    },
    {
      method: "get",
      path: "/api/v1/devices/{id}",
      operationId: "getDevice",
      summary: "Read a device with its presence and latest status.",
      tag: "devices",
      scope: "read",
      params: IdParams,
      responses: {
        200: { description: "The device.", schema: S.Device },
        404: { description: "No such device." },
      },
      handler: async (ctx, { params }) => {
        const { status, ...device } = await cloud.devices.view(params["id"] as string);
        ctx.body = { ...device, status: status && statusBody(status) };
      },
    },
    {
      method: "patch",
      path: "/api/v1/devices/{id}",
      operationId: "updateDevice",
      summary: "Update name, type, description, labels, hardware or disabled (disabling disconnects it).",
      tag: "devices",
      scope: "write",
      params: IdParams,
      body: S.DevicePatch,
      responses: {
        200: { description: "The updated device.", schema: S.Device },
        404: { description: "No such device." },
      },
      handler: async (ctx, { params, body }) => {
        ctx.body = await cloud.devices.update(
          params["id"] as string,
          body as Parameters<typeof cloud.devices.update>[1],
        );
      },
    },
    {
      method: "delete",
      path: "/api/v1/devices/{id}",
      operationId: "deleteDevice",
      summary: "Delete a device and everything it owns; a live session is closed.",
      tag: "devices",
      scope: "write",
      params: IdParams,
      responses: { 204: { description: "Deleted." }, 404: { description: "No such device." } },
      handler: async (ctx, { params }) => {
        await cloud.devices.delete(params["id"] as string);
        ctx.status = 204;
      },
    },
    {
      method: "post",
      path: "/api/v1/devices/{id}/secret",
      operationId: "rotateDeviceSecret",
      summary: "Rotate the secret: the new one is shown once; old tokens and the live session die.",
      tag: "devices",
      scope: "write",
      params: IdParams,
      responses: {
        200: { description: "The new secret.", schema: Type.Object({ id: S.Id, secret: Type.String() }) },
        404: { description: "No such device." },
      },
      handler: async (ctx, { params }) => {
        const { device, secret } = await cloud.devices.rotateSecret(params["id"] as string);
        ctx.body = { id: device.id, secret };
      },
    },
    {
      method: "get",
      path: "/api/v1/devices/{id}/status",
      operationId: "getDeviceStatus",
      summary: "The latest status report.",
      tag: "status",
      scope: "read",
      params: IdParams,
      responses: {
        200: { description: "The latest status.", schema: S.Status },
        404: { description: "No such device, or no status yet (code no_status)." },
      },
      handler: async (ctx, { params }) => {
        ctx.body = statusBody(await cloud.status.current(params["id"] as string));
      },
    },
    {
      method: "get",
      path: "/api/v1/devices/{id}/status/history",
      operationId: "getDeviceStatusHistory",
      summary: "Status history in a time range.",
      tag: "status",
      scope: "read",
      params: IdParams,
      query: Type.Object({
        from: Type.Optional(S.EpochMs),
        to: Type.Optional(S.EpochMs),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
        order: Type.Optional(Type.Union([Type.Literal("asc"), Type.Literal("desc")], { default: "desc" })),
      }),
      responses: {
        200: { description: "Reports.", schema: Type.Object({ items: Type.Array(S.Status) }) },
        404: { description: "No such device." },
      },
      handler: async (ctx, { params, query }) => {
        const items = await cloud.status.history(
          params["id"] as string,
          query as Parameters<typeof cloud.status.history>[1],
        );
        ctx.body = { items: items.map(statusBody) };
      },
    },
    {
      method: "get",
      path: "/api/v1/devices/{id}/events",
      operationId: "getDeviceEvents",
      summary:
        "The device's event log: connects/disconnects with reason, auth failures, commands, state changes.",
      tag: "devices",
      scope: "read",
      params: IdParams,
      query: Type.Object({
        kind: Type.Optional(
          Type.String({ pattern: "^[a-z_]+(,[a-z_]+)*$", description: "Comma-separated kinds." }),
        ),
        from: Type.Optional(S.EpochMs),
        to: Type.Optional(S.EpochMs),
        ...S.PageQuery,
      }),
      responses: {
        200: { description: "Newest first.", schema: S.Page(S.DeviceEvent) },
        404: { description: "No such device." },
      },
      handler: async (ctx, { params, query }) => {
        ctx.body = await cloud.eventLog.list(params["id"] as string, {
          ...(query["kind"] ? { kinds: (query["kind"] as string).split(",") as never } : {}),
          ...(query["from"] !== undefined ? { from: query["from"] as number } : {}),
          ...(query["to"] !== undefined ? { to: query["to"] as number } : {}),
          ...pageOf(query),
        });
      },
    },
  ];
}
