import { CloudErrorCode, isCloudError } from "@cloudedge/cloud-sdk";
import { type Static, Type } from "@sinclair/typebox";
import type { Context } from "koa";
import type { AppDeps } from "../context.js";
import type { Route } from "../http/route.js";
import * as S from "../http/schemas.js";

/**
 * The original system's three endpoints, with its request and response shapes and its
 * envelope (`{"status":"success","data":…}` / `{"status":"fail","type":…,"message":…}`),
 * so existing callers keep working. Errors never use problem+json here.
 */

type FailType = "GENERAL_ERROR" | "DEVICEOP_ERROR" | "DATABASE_ERROR" | "INNER_ERROR";
/** The original waited a fixed 10 s for an order's result. */
const ORDER_WAIT_MS = 10_000;

function fail(ctx: Context, status: number, type: FailType, message: string): void {
  ctx.status = status;
  ctx.body = { status: "fail", type, message };
}

/** The message with the first field errors, so a legacy caller learns which field (the envelope has no list). */
function withFields(message: string, details: Record<string, unknown> | undefined): string {
  const fields = (details?.["fields"] ?? []) as Array<{ path: string; message: string }>;
  if (fields.length === 0) return message;
  return `${message}: ${fields
    .slice(0, 3)
    .map((f) => `${f.path || "/"} ${f.message}`)
    .join("; ")}`;
}

/** Maps SDK errors onto the original envelope and status codes (400/404/409/500). */
export async function enveloped(ctx: Context, work: () => Promise<unknown>): Promise<void> {
  try {
    const data = await work();
    ctx.status = 200;
    ctx.body = { status: "success", data };
  } catch (error) {
    if (!isCloudError(error)) throw error;
    if (error.code === CloudErrorCode.STORE_UNAVAILABLE)
      return fail(ctx, 500, "DATABASE_ERROR", error.message);
    if (error.code === CloudErrorCode.DEVICE_ERROR) return fail(ctx, 400, "DEVICEOP_ERROR", error.message);
    if (error.status === 400 || error.status === 415 || error.status === 413)
      return fail(ctx, 400, "GENERAL_ERROR", withFields(error.message, error.details));
    if (error.status === 401 || error.status === 403)
      return fail(ctx, error.status, "GENERAL_ERROR", error.message);
    if (
      error.status >= 500 &&
      error.code !== CloudErrorCode.RESULT_TIMEOUT &&
      error.code !== CloudErrorCode.DELIVERY_TIMEOUT
    ) {
      return fail(ctx, 500, "DEVICEOP_ERROR", error.message);
    }
    const status = error.status === 404 ? 404 : error.status === 409 ? 409 : 400;
    return fail(ctx, status, "DEVICEOP_ERROR", error.message);
  }
}

export function legacyRoutes(deps: AppDeps): Route[] {
  const { cloud } = deps;
  const scope = deps.legacyAuth === false ? null : ("write" as const);
  return [
    {
      method: "post",
      path: "/service/devices_manage/device_add",
      operationId: "legacyDeviceAdd",
      summary: "Original system: register a device with a caller-chosen password (≥16 characters).",
      tag: "legacy",
      scope,
      responses: {
        200: { description: '{"status":"success","data":{"device_id","password"}}' },
        400: { description: "GENERAL_ERROR: a field breaks its v1 schema; `message` names it." },
        409: { description: "The (sn, model) pair is taken." },
      },
      body: S.LegacyDeviceAdd,
      handler: (ctx, { body }) =>
        enveloped(ctx, async () => {
          const input = body as Static<typeof S.LegacyDeviceAdd>;
          const { hardware = {}, software = {} } = input;
          const { device, secret } = await cloud.devices.register({
            name: input.device_name,
            ...(input.device_type !== undefined ? { type: input.device_type } : {}),
            ...(input.dev_description !== undefined ? { description: input.dev_description } : {}),
            hardware: {
              // Empty strings mean "none", as the original read them.
              ...(hardware.sn ? { serialNumber: hardware.sn } : {}),
              ...(hardware.model ? { model: hardware.model } : {}),
              nics: input.nic ?? [],
            },
            software: {
              ...(software.version ? { version: software.version } : {}),
              ...(software.last_update !== undefined ? { lastUpdate: software.last_update } : {}),
            },
            secret: input.password,
          });
          return { device_id: device.id, password: secret };
        }),
    },
    {
      method: "get",
      path: "/service/devices_manage/device_statusInfo_query/{device_id}",
      operationId: "legacyStatusQuery",
      summary: "Original system: latest status with device_id and dev_state (online/offline).",
      tag: "legacy",
      scope: scope && "read",
      params: Type.Object({ device_id: Type.String() }),
      responses: {
        200: { description: '{"status":"success","data":{device_id, dev_state, …status}}' },
        404: { description: "No such device." },
      },
      handler: (ctx, { params }) =>
        enveloped(ctx, async () => {
          const id = params["device_id"] as string;
          const { online, status } = await cloud.devices.view(id);
          return {
            ...(status?.data ?? {}),
            ...(status ? { ts: status.ts } : {}),
            device_id: id,
            dev_state: online ? "online" : "offline",
          };
        }),
    },
    {
      method: "post",
      path: "/service/devices_manage/give_order",
      operationId: "legacyGiveOrder",
      summary:
        "Original system: run an order (restart → system.reboot, upload_log → logs.upload, else that method) and wait up to 10 s.",
      tag: "legacy",
      scope,
      responses: {
        200: { description: '{"status":"success","data":<result>}' },
        404: { description: "No such device." },
      },
      body: S.LegacyGiveOrder,
      documents: ["params"],
      handler: (ctx, { body }) =>
        enveloped(ctx, async () => {
          const order = body as Static<typeof S.LegacyGiveOrder>;
          const params = order.params ?? {};
          const method =
            order.order === "restart"
              ? "system.reboot"
              : order.order === "upload_log"
                ? "logs.upload"
                : order.order;
          // upload_log without a remoteDir: the agent's configured one (default /var/log/devices_management).
          // A device error comes back as its message (`enveloped`: DEVICEOP_ERROR, 400).
          return cloud.broker.call(String(order.device_id), method, params, { timeoutMs: ORDER_WAIT_MS });
        }),
    },
  ];
}
