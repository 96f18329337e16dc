import { CloudError, CloudErrorCode, isCloudError } from "@cloudedge/cloud-sdk";
import { Type } from "@sinclair/typebox";
import type { Context } from "koa";
import type { AppDeps } from "../context.js";
import { readJsonBody } from "../http/body.js";
import type { Route } from "../http/route.js";

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
      return fail(ctx, 400, "GENERAL_ERROR", error.message);
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
        409: { description: "The (sn, model) pair is taken." },
      },
      handler: (ctx) =>
        enveloped(ctx, async () => {
          const body = ((await readJsonBody(ctx, deps.bodyLimitBytes ?? 1_048_576)) ?? {}) as Record<
            string,
            unknown
          >;
          const hardware = (body["hardware"] ?? {}) as { sn?: string; model?: string };
          const software = (body["software"] ?? {}) as { version?: string; last_update?: number };
          const nics = Array.isArray(body["nic"]) ? (body["nic"] as Array<Record<string, string>>) : [];
          if (typeof body["password"] !== "string" || typeof body["device_name"] !== "string") {
            throw new CloudError(
              CloudErrorCode.VALIDATION,
              "password and device_name are required strings",
              400,
            );
          }
          const { device, secret } = await cloud.devices.register({
            name: body["device_name"],
            ...(typeof body["device_type"] === "string" ? { type: body["device_type"] } : {}),
            ...(typeof body["dev_description"] === "string" ? { description: body["dev_description"] } : {}),
            hardware: {
              ...(hardware.sn ? { serialNumber: String(hardware.sn) } : {}),
              ...(hardware.model ? { model: String(hardware.model) } : {}),
              nics: nics.map((n) => ({
                ...(n.type ? { type: n.type } : {}),
                ...(n.mac ? { mac: n.mac } : {}),
                ...(n.ipv4 ? { ipv4: n.ipv4 } : {}),
              })),
            },
            software: {
              ...(software.version ? { version: String(software.version) } : {}),
              ...(typeof software.last_update === "number" ? { lastUpdate: software.last_update } : {}),
            },
            secret: body["password"],
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
      handler: (ctx) =>
        enveloped(ctx, async () => {
          const body = ((await readJsonBody(ctx, deps.bodyLimitBytes ?? 1_048_576)) ?? {}) as {
            device_id?: unknown;
            order?: unknown;
            params?: unknown;
          };
          if (typeof body.device_id !== "string" && typeof body.device_id !== "number") {
            throw new CloudError(CloudErrorCode.VALIDATION, "device_id is required", 400);
          }
          if (typeof body.order !== "string" || body.order.length === 0)
            throw new CloudError(CloudErrorCode.VALIDATION, "order is required", 400);
          const params = (body.params ?? {}) as Record<string, unknown>;
          const method =
            body.order === "restart"
              ? "system.reboot"
              : body.order === "upload_log"
                ? "logs.upload"
                : body.order;
          // upload_log without a remoteDir: the agent's configured one (default /var/log/devices_management).
          // A device error comes back as its message (`enveloped`: DEVICEOP_ERROR, 400).
          return cloud.broker.call(String(body.device_id), method, params, { timeoutMs: ORDER_WAIT_MS });
        }),
    },
  ];
}
