import { CommandFailedError, type CommandRecord, type SendOptions } from "@cloudedge/cloud-sdk";
import { Type } from "@sinclair/typebox";
import type { AppDeps } from "../context.js";
import { HttpError } from "../http/problem.js";
import { pageOf, type Route } from "../http/route.js";
import * as S from "../http/schemas.js";

const DeviceParams = Type.Object({ id: S.Id });
const CommandParams = Type.Object({ id: S.Id, cid: S.Id });

/** Commands: send (optionally waiting), list, read, cancel; group fan-out; desired/reported state. */
export function commandRoutes(deps: AppDeps): Route[] {
  const { cloud } = deps;
  return [
    {
      method: "post",
      path: "/api/v1/devices/{id}/commands",
      operationId: "sendCommand",
      summary:
        "Send a command. Without wait: 202 with the command. With wait: 200 with the outcome, or 504 carrying the command id.",
      tag: "commands",
      scope: "write",
      params: DeviceParams,
      body: S.NewCommand,
      documents: ["params"],
      responses: {
        200: { description: "wait: the command finished (see status).", schema: S.Command },
        202: { description: "Accepted; poll the command or watch /api/v1/events.", schema: S.Command },
        400: {
          description:
            "validation_failed (e.g. timeoutMs or ttlMs past its maximum), or document_limit: params break a document limit (`limit`, `max`).",
        },
        404: { description: "No such device." },
        409: { description: "device_offline (no ttlMs) or device_disabled; the problem carries commandId." },
        429: {
          description:
            "queue_full: the device already has its quota of unfinished commands (`limit`: `commands` or `bytes`, with `max`).",
        },
        504: { description: "wait: no outcome in time; the problem carries commandId." },
      },
      handler: async (ctx, { params, body }) => {
        const input = body as {
          method: string;
          params?: unknown;
          timeoutMs?: number;
          ttlMs?: number;
          wait?: boolean;
        };
        const options: SendOptions = {
          ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
          ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
        };
        const deviceId = params["id"] as string;
        const location = (command: CommandRecord) =>
          ctx.set("Location", `/api/v1/devices/${command.deviceId}/commands/${command.id}`);
        if (!input.wait) {
          const command = await cloud.broker.send(deviceId, input.method, input.params ?? null, options);
          location(command);
          ctx.status = 202;
          ctx.body = command;
          return;
        }
        const final = await cloud.broker
          .execute(deviceId, input.method, input.params ?? null, options)
          .catch((error: unknown) => {
            // No outcome in time (504): the command exists and goes on; say where it is.
            if (error instanceof CommandFailedError && error.status === 504) location(error.command);
            throw error;
          });
        location(final);
        ctx.status = 200;
        ctx.body = final;
      },
    },
    {
      method: "get",
      path: "/api/v1/devices/{id}/commands",
      operationId: "listCommands",
      summary: "The device's commands, newest first.",
      tag: "commands",
      scope: "read",
      params: DeviceParams,
      query: Type.Object({
        status: Type.Optional(Type.String({ pattern: "^[A-Z_]+(,[A-Z_]+)*$" })),
        ...S.PageQuery,
      }),
      responses: {
        200: { description: "A page of commands.", schema: S.Page(S.Command) },
        404: { description: "No such device." },
      },
      handler: async (ctx, { params, query }) => {
        ctx.body = await cloud.broker.list(params["id"] as string, {
          ...(query["status"] ? { status: (query["status"] as string).split(",") as never } : {}),
          ...pageOf(query),
        });
      },
    },
    {
      method: "get",
      path: "/api/v1/devices/{id}/commands/{cid}",
      operationId: "getCommand",
      summary: "A command's status and result.",
      tag: "commands",
      scope: "read",
      params: CommandParams,
      responses: {
        200: { description: "The command.", schema: S.Command },
        404: { description: "No such command." },
      },
      handler: async (ctx, { params }) => {
        ctx.body = await cloud.broker.get(params["id"] as string, params["cid"] as string);
      },
    },
    {
      method: "delete",
      path: "/api/v1/devices/{id}/commands/{cid}",
      operationId: "cancelCommand",
      summary: "Cancel a command that is still QUEUED (409 not_cancelable once sent).",
      tag: "commands",
      scope: "write",
      params: CommandParams,
      responses: {
        200: { description: "Canceled.", schema: S.Command },
        404: { description: "No such command." },
        409: { description: "Already sent." },
      },
      handler: async (ctx, { params }) => {
        ctx.body = await cloud.broker.cancel(params["id"] as string, params["cid"] as string);
      },
    },
    {
      method: "post",
      path: "/api/v1/groups/{id}/commands",
      operationId: "sendGroupCommand",
      summary: "Fan a command out to every member; one entry per device with its command id or error.",
      tag: "groups",
      scope: "write",
      params: DeviceParams,
      body: Type.Object(
        {
          method: S.NewCommand.properties.method,
          params: Type.Optional(Type.Unknown()),
          timeoutMs: S.NewCommand.properties.timeoutMs,
          ttlMs: S.NewCommand.properties.ttlMs,
        },
        { additionalProperties: false },
      ),
      documents: ["params"],
      responses: {
        202: { description: "Per-device outcome of sending.", schema: S.FanOut },
        400: { description: "validation_failed or document_limit, once for the whole group." },
        404: { description: "No such group." },
      },
      handler: async (ctx, { params, body }) => {
        const input = body as { method: string; params?: unknown; timeoutMs?: number; ttlMs?: number };
        const items = await cloud.broker.fanOut(params["id"] as string, input.method, input.params ?? null, {
          ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
          ...(input.ttlMs !== undefined ? { ttlMs: input.ttlMs } : {}),
        });
        ctx.status = 202;
        ctx.body = { items };
      },
    },
    {
      method: "get",
      path: "/api/v1/devices/{id}/state",
      operationId: "getState",
      summary: "Desired and reported state, their delta and versions.",
      tag: "state",
      scope: "read",
      params: DeviceParams,
      responses: {
        200: { description: "The state; ETag is the desired version.", schema: S.State },
        404: { description: "No such device." },
      },
      handler: async (ctx, { params }) => {
        const state = await cloud.state.get(params["id"] as string);
        ctx.set("ETag", `"${state.desiredVersion}"`);
        ctx.body = state;
      },
    },
    {
      method: "patch",
      path: "/api/v1/devices/{id}/state/desired",
      operationId: "patchDesiredState",
      summary:
        "Merge-patch the desired state; If-Match: <desiredVersion> makes it conditional (412 on mismatch).",
      tag: "state",
      scope: "write",
      params: DeviceParams,
      body: S.MergePatch,
      documents: [""],
      headers: { "If-Match": { description: 'Expected desired version, e.g. 3 or "3".' } },
      responses: {
        200: { description: "The new state.", schema: S.State },
        404: { description: "No such device." },
        400: {
          description:
            "validation_failed, or document_limit: the patch or the document it builds breaks a document limit (`limit`, `max`).",
        },
        412: { description: "version_mismatch; the problem carries currentVersion." },
      },
      handler: async (ctx, { params, body }) => {
        const header = ctx.get("if-match");
        let ifMatch: number | undefined;
        if (header) {
          const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(header.trim());
          if (!match)
            throw new HttpError(400, "validation_failed", "If-Match must be a desired version number", {
              fields: [{ path: "/headers/if-match", message: "expected a version number" }],
            });
          ifMatch = Number(match[1]);
        }
        const state = await cloud.state.patchDesired(params["id"] as string, body, ifMatch);
        ctx.set("ETag", `"${state.desiredVersion}"`);
        ctx.body = state;
      },
    },
  ];
}
